import { parseLifecycleEvent, type EventValidationIssue } from '../../marketplace/event-validation.ts';
import { MAX_EVENT_BYTES, occurredAtRefusal, type LifecycleEvent } from '../../marketplace/event-schema.ts';

/** One event read from the command line or a line of NDJSON, validated. */
export type CheckedEvent =
  | { readonly ok: true; readonly line: number; readonly event: LifecycleEvent }
  | { readonly ok: false; readonly line: number; readonly issues: readonly EventValidationIssue[] };

let serial = 0;

/** The defaults of an event given without them: a fresh `eventId` and `occurredAt` = now. */
export function eventDefaults(now = Date.now()): { eventId: string; occurredAt: string } {
  return { eventId: `cli-${now.toString(36)}-${process.pid.toString(36)}-${(++serial).toString(36)}-${Math.random().toString(36).slice(2, 8)}`, occurredAt: new Date(now).toISOString() };
}

/** `from-sku` → `fromSku`: flags are kebab-case, event fields camelCase. */
function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The `--field value` / `--field=value` pairs after the event type, as [field, value] pairs.
 * Throws a TypeError naming the flag that has no value or is not a flag.
 */
export function fieldFlags(args: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--') || arg.length === 2) throw new TypeError(`"${arg}" is not a --field value pair (e.g. --sku PRO-MONTHLY)`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      pairs.push([camel(arg.slice(2, eq)), arg.slice(eq + 1)]);
    } else {
      const value = args[i + 1];
      if (value === undefined) throw new TypeError(`${arg} needs a value`);
      pairs.push([camel(arg.slice(2)), value]);
      i++;
    }
  }
  return pairs;
}

/**
 * Validates an event built from flags. Values are strings; a field the schema wants as a number
 * (e.g. `--usage 5`) is retried as the number it spells.
 */
export function checkFlagEvent(type: string, customerId: string | undefined, fields: readonly [string, string][], now = Date.now()): CheckedEvent {
  // fromEntries defines own properties: a "__proto__" field stays a field, refused by validation.
  const base: Record<string, unknown> = Object.fromEntries([
    ...Object.entries(eventDefaults(now)),
    ['type', type],
    ...(customerId === undefined ? [] : [['customerId', customerId]]),
    ...fields,
  ]);
  let result = parseLifecycleEvent(base);
  if (!result.ok) {
    const numeric = fields.filter(([field, value]) => result.ok === false && result.issues.some((i) => i.path === `$.${field}` && i.rule === 'type') && value.trim() !== '' && Number.isFinite(Number(value)));
    if (numeric.length > 0) {
      const retried = Object.fromEntries([...Object.entries(base), ...numeric.map(([field, value]) => [field, Number(value)] as const)]);
      result = parseLifecycleEvent(retried);
    }
  }
  return plausible(result, 1, now);
}

/** A validated event, unless its `occurredAt` is too far ahead of `now` (a check apart from the schema, as the nodes run it). */
function plausible(result: ReturnType<typeof parseLifecycleEvent>, line: number, now: number): CheckedEvent {
  if (!result.ok) return { ok: false, line, issues: result.issues };
  const ahead = occurredAtRefusal(result.event, now);
  if (ahead === undefined) return { ok: true, line, event: result.event };
  return { ok: false, line, issues: [{ path: '$.occurredAt', rule: 'maximum', message: ahead.replace(/ \(maximum\), got .*$/, ''), value: JSON.stringify(result.event.occurredAt) }] };
}

/**
 * Validates one event given as JSON text (`--json`, a line of NDJSON): size before parsing, then
 * `eventId` and `occurredAt` filled in when absent, then {@link parseLifecycleEvent}.
 */
export function checkJsonEvent(text: string, line: number, now = Date.now()): CheckedEvent {
  const fail = (issue: EventValidationIssue): CheckedEvent => ({ ok: false, line, issues: [issue] });
  if (Buffer.byteLength(text, 'utf8') > MAX_EVENT_BYTES) {
    return fail({ path: '$', rule: 'max_size', message: `$: an event is at most ${MAX_EVENT_BYTES} bytes of UTF-8 JSON` });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail({ path: '$', rule: 'not_json', message: `$: not valid JSON: ${(error as Error).message}` });
  }
  return checkEventValue(value, line, now);
}

/**
 * Validates one event given as a value (parsed JSON, or an object typed at the REPL):
 * `eventId` and `occurredAt` filled in when absent, then {@link parseLifecycleEvent}, which also
 * refuses what JSON cannot hold and events over the size limit. The path `--json` takes after
 * parsing, so the REPL's `enqueue(event)` accepts exactly what `governor enqueue` accepts.
 */
export function checkEventValue(value: unknown, line = 1, now = Date.now()): CheckedEvent {
  // Spreading defines own properties, so a "__proto__" key stays a key (and is refused).
  const event = typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...eventDefaults(now), ...value } : value;
  return plausible(parseLifecycleEvent(event), line, now);
}

/** Validates NDJSON: one event per non-blank line, numbered from 1; a leading byte order mark is dropped. */
export function checkNdjson(text: string, now = Date.now()): CheckedEvent[] {
  const checked: CheckedEvent[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    checked.push(checkJsonEvent(line, i + 1, now));
  }
  return checked;
}

/** One line per issue: `<path>: <message> (<rule>)`. */
export function describeIssues(issues: readonly EventValidationIssue[]): string[] {
  return issues.map((issue) => {
    const message = issue.message.startsWith(issue.path) ? issue.message : `${issue.path}: ${issue.message}`;
    return `${message} (${issue.rule})${issue.value === undefined ? '' : `, got ${issue.value}`}`;
  });
}

/**
 * Validates NDJSON as the bytes of a file or stdin. Text that is not UTF-8 (a Latin-1 "café") is
 * refused line by line: decoding it anyway would turn the bad bytes into U+FFFD and store an
 * event that says something else than what was sent.
 */
export function checkNdjsonBytes(bytes: Uint8Array, now = Date.now()): CheckedEvent[] {
  try {
    // fatal: throw on bad bytes; the byte order mark, if any, is dropped.
    return checkNdjson(new TextDecoder('utf-8', { fatal: true }).decode(bytes), now);
  } catch {
    // Some line is not UTF-8: find which, and check the others.
  }
  const checked: CheckedEvent[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(start, end));
    } catch {
      const message = '$: the line is not valid UTF-8 text; save the file as UTF-8';
      checked.push({ ok: false, line, issues: [{ path: '$', rule: 'not_json', message }] });
      start = end + 1;
      continue;
    }
    if (line === 1) text = text.replace(/^\uFEFF/, '');
    text = text.replace(/\r$/, '');
    if (text.trim() !== '') checked.push(checkJsonEvent(text, line, now));
    start = end + 1;
  }
  return checked;
}

/**
 * {@link checkNdjsonBytes} over a stream of bytes (a file, stdin), one line at a time: the input is
 * never held whole, and a line longer than an event can be is refused without being kept (its
 * bytes are skipped up to the next newline).
 */
export async function* checkNdjsonStream(chunks: AsyncIterable<Uint8Array>, now = Date.now()): AsyncGenerator<CheckedEvent> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  // Longer than any event can be, whatever its encoding (MAX_EVENT_BYTES of UTF-8, a CR, a BOM).
  const longest = MAX_EVENT_BYTES + 8;
  let parts: Buffer[] = [];
  let length = 0;
  let oversize = false;
  let line = 1;
  const finish = (): CheckedEvent | undefined => {
    const bytes = Buffer.concat(parts, length);
    parts = [];
    length = 0;
    const number = line++;
    if (oversize) {
      oversize = false;
      return { ok: false, line: number, issues: [{ path: '$', rule: 'max_size', message: `$: an event is at most ${MAX_EVENT_BYTES} bytes of UTF-8 JSON` }] };
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      return { ok: false, line: number, issues: [{ path: '$', rule: 'not_json', message: '$: the line is not valid UTF-8 text; save the file as UTF-8' }] };
    }
    if (number === 1) text = text.replace(/^\uFEFF/, '');
    text = text.replace(/\r$/, '');
    return text.trim() === '' ? undefined : checkJsonEvent(text, number, now);
  };
  const take = (bytes: Buffer): void => {
    if (oversize) return;
    if (length + bytes.length > longest) {
      oversize = true;
      parts = [];
      length = 0;
      return;
    }
    parts.push(bytes);
    length += bytes.length;
  };
  for await (const chunk of chunks) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let end = bytes.indexOf(0x0a, start); end !== -1; end = bytes.indexOf(0x0a, start)) {
      take(bytes.subarray(start, end));
      const checked = finish();
      if (checked) yield checked;
      start = end + 1;
    }
    // Copied: the stream may reuse its chunk's memory.
    if (start < bytes.length) take(Buffer.from(bytes.subarray(start)));
  }
  const last = finish();
  if (last) yield last;
}
