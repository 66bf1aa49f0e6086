import { GovernorError } from '../errors.ts';
import { jsonData, NotJsonDataError } from './json-data.ts';
import { applyJsonPatch, JsonPatchError, parseJsonPatch, type JsonPatchOperation } from './json-patch.ts';

/**
 * The declarative change `replace_state` makes to a gen_statem actor: a JSON Patch (RFC 6902)
 * on its context and/or a new state value. Data only: it is checked here, applied by
 * {@link applyStateChange} (pure), and nothing in it is ever run as code, wherever it came from
 * (the embedded REPL, or `governor repl` through Redis).
 *
 * @example
 * { patch: [{ op: 'test', path: '/data/balance', value: '12' }, { op: 'replace', path: '/data/balance', value: '0' }] }
 * { value: 'Active' }
 */
export interface StateChange {
  /** Applied to the context, all or nothing. */
  readonly patch?: readonly JsonPatchOperation[];
  /** A state value the machine has: `'Active'`, or `{ Billing: 'Overdue' }` for nested states. */
  readonly value?: StateValue;
}

export type StateValue = string | { readonly [region: string]: StateValue };

/** Operations one change may hold. @default 1000 */
export const MAX_PATCH_OPERATIONS = 1_000;
/** The largest context a change may leave, as JSON (what a commit carries). @default 1 MiB */
export const MAX_STATE_BYTES = 1_048_576;

/** How to write a change, for the messages that refuse one. */
export const STATE_CHANGE_USAGE = "{ patch: [{ op: 'replace', path: '/n', value: 1 }] } (a JSON Patch on the context) and/or { value: 'State' }";

export type StateChangeErrorCode = 'STATE_CHANGE_NOT_DATA' | 'STATE_CHANGE_INVALID' | 'STATE_VALUE_UNKNOWN' | 'STATE_CONTEXT_NOT_JSON' | 'STATE_TOO_LARGE';

/** A change refused before anything was applied; the actor's state is as it was. */
export class StateChangeError extends GovernorError {
  declare readonly code: StateChangeErrorCode;
  constructor(code: StateChangeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Checks a change as it arrives (from the REPL or off the admin wire) and returns a copy of it as
 * JSON data. A function or source text is refused: the admin path sends data, never code.
 * Throws {@link StateChangeError} or {@link JsonPatchError}.
 */
export function parseStateChange(input: unknown): StateChange {
  if (typeof input === 'function' || typeof input === 'string') {
    throw new StateChangeError(
      'STATE_CHANGE_NOT_DATA',
      `replace_state takes data, not code: send a JSON Patch, ${STATE_CHANGE_USAGE}; nothing sent to a node is run as code`,
    );
  }
  let copy: unknown;
  try {
    copy = jsonData(input, { refuseForbiddenKeys: true });
  } catch (error) {
    if (error instanceof NotJsonDataError) throw new StateChangeError('STATE_CHANGE_INVALID', `replace_state's change is not JSON data: ${error.message}`);
    throw error;
  }
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new StateChangeError('STATE_CHANGE_INVALID', `replace_state takes ${STATE_CHANGE_USAGE}`);
  }
  const { patch, value, ...rest } = copy as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new StateChangeError('STATE_CHANGE_INVALID', `replace_state's change has only "patch" and "value", not ${extra.map((k) => `"${k}"`).join(', ')}`);
  if (patch === undefined && value === undefined) throw new StateChangeError('STATE_CHANGE_INVALID', `replace_state's change is empty: give ${STATE_CHANGE_USAGE}`);
  const change: { patch?: JsonPatchOperation[]; value?: StateValue } = {};
  if (patch !== undefined) {
    change.patch = parseJsonPatch(patch);
    if (change.patch.length > MAX_PATCH_OPERATIONS) throw new StateChangeError('STATE_CHANGE_INVALID', `a patch holds at most ${MAX_PATCH_OPERATIONS} operations, got ${change.patch.length}`);
  }
  if (value !== undefined) change.value = checkStateValue(value, '$.value');
  return change;
}

function checkStateValue(value: unknown, where: string): StateValue {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [region, inner] of Object.entries(value)) checkStateValue(inner, `${where}.${region}`);
    return value as StateValue;
  }
  throw new StateChangeError('STATE_CHANGE_INVALID', `${where}: a state value is a state's name ('Active') or an object of them ({ Billing: 'Overdue' })`);
}

/**
 * The state after `change`, computed on copies (pure): the context patched, the value replaced.
 * Whether the machine has the value is the caller's to ask (it holds the machine). Throws, leaving
 * `state` untouched, when the context is not JSON data, an operation fails (a `test` included),
 * or the result is not a JSON object within {@link MAX_STATE_BYTES}.
 */
export function applyStateChange(state: { value: unknown; context: unknown }, change: StateChange): { value: unknown; context: unknown } {
  let context = state.context;
  if (change.patch !== undefined && change.patch.length > 0) {
    let current: unknown;
    try {
      current = jsonData(state.context);
    } catch (error) {
      throw new StateChangeError('STATE_CONTEXT_NOT_JSON', `this actor's context is not JSON data, so it cannot be patched (${(error as Error).message})`, { cause: error });
    }
    const patched = applyJsonPatch(current, change.patch);
    if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
      throw new JsonPatchError('PATCH_INVALID', 'the patched context must still be an object');
    }
    try {
      context = jsonData(patched);
    } catch (error) {
      throw new StateChangeError('STATE_TOO_LARGE', `the patched context is not within limits: ${(error as Error).message}`, { cause: error });
    }
    const bytes = Buffer.byteLength(JSON.stringify(context));
    if (bytes > MAX_STATE_BYTES) throw new StateChangeError('STATE_TOO_LARGE', `the patched context is ${bytes} bytes of JSON; the limit is ${MAX_STATE_BYTES}`);
  }
  return { value: change.value ?? state.value, context };
}
