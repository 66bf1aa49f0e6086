import { randomBytes } from 'node:crypto';
import { GOVERNORS } from '../marketplace/event-routing.ts';
import { pseudonymiseCustomer } from '../marketplace/receipts.ts';
import { nodeVariable } from './node-environment.ts';

/** The marketplace's entity kinds: each is keyed by a customer id, so `Kind/<id>` names a customer. */
const CUSTOMER_KEYED_KINDS = ['Orchestrator', ...GOVERNORS, 'Receipts'];
const ENTITY_REFERENCE = new RegExp(`\\b((?:entity:)?(?:${CUSTOMER_KEYED_KINDS.join('|')}))/([^/\\s"'\\],)}]+)`, 'g');

// A lifecycle message's job id, `ev.<customer id>/<eventId>` (lifecycle-message.ts, `:` written
// `|`): any characters up to the `/`, since an invalid job's id may hold any.
const MESSAGE_ID = /\bev\.([^/\s"'\],)}]+)\//g;

// The Orchestrator's refusals that quote a customer id as a JSON string (lifecycle-message.ts):
// the value of an invalid `$.event.customerId` (`…, got "<id>"`), and the key of a mismatch
// (`it is sent to, "<key>" (key_mismatch)`). test/cli/log-pseudonyms.test.ts logs the real ones.
const QUOTED_CUSTOMER_ID = /(\$\.event\.customerId: [^;]*?(?:\bgot |it is sent to, ))"((?:[^"\\]|\\.)*)"/g;
const KEY_MISMATCH_VALUE = /(\(key_mismatch\), got )"((?:[^"\\]|\\.)*)"/g;

/**
 * What this module writes for a customer id, and nothing else: a text may pass through twice, and
 * a pseudonym must not be pseudonymised again. A customer id is never of this form (a valid one
 * starts with a letter or digit; see `safeId` in event-schema.ts), so an invalid one starting with
 * `~` is hidden like any other.
 */
const PSEUDONYM = /^~[0-9a-f]{16}$/;

/** A JSON string's text as the value it stands for (the escaped text itself if it is cut or broken). */
const unquoted = (text: string): string => {
  try {
    return JSON.parse(`"${text}"`) as string;
  } catch {
    return text;
  }
};

/** The log fields that hold a customer id, wherever they are nested one level down (an event, a job). */
export const CUSTOMER_ID_LOG_PATHS = ['customerId', '*.customerId'];

/**
 * How a node's log shows customer ids (`customerId` fields, `Kind/<id>` references, the customer
 * part of a lifecycle job's id): as their receipt pseudonym (`~` and the first 16 hex digits of
 * HMAC-SHA256 under GOVERNOR_PSEUDONYM_KEY, the key receipts use), so a log collector holds no
 * personal identifier, while an operator with the key can still find one customer's lines.
 * `GOVERNOR_LOG_CUSTOMER_IDS=1` shows them as they are (a debugging switch, documented in README).
 * Without a pseudonym key the pseudonyms are of a random key: stable for the process only.
 */
export interface LogPseudonyms {
  /** A customer id as the log shows it. */
  customer(id: unknown): unknown;
  /** A text with every `Kind/<customer id>` reference of a marketplace entity pseudonymised. */
  text(text: string): string;
}

export function logPseudonyms(env: NodeJS.ProcessEnv): LogPseudonyms | undefined {
  if (nodeVariable('GOVERNOR_LOG_CUSTOMER_IDS', env) === '1') return undefined;
  const configured = nodeVariable('GOVERNOR_PSEUDONYM_KEY', env);
  const key = configured !== undefined && Buffer.byteLength(configured) >= 16 ? configured : randomBytes(32);
  const customer = (id: unknown) => (typeof id === 'string' && !PSEUDONYM.test(id) ? `~${pseudonymiseCustomer(id, key).slice(0, 16)}` : id);
  const quoted = (_: string, before: string, text: string) => `${before}"${customer(unquoted(text)) as string}"`;
  return {
    customer,
    text: (text) =>
      text
        .replace(QUOTED_CUSTOMER_ID, quoted)
        .replace(KEY_MISMATCH_VALUE, quoted)
        .replace(MESSAGE_ID, (_, id: string) => `ev.${customer(id.replaceAll('|', ':')) as string}/`)
        .replace(ENTITY_REFERENCE, (_, kind: string, match: string) => {
        // Punctuation that ends the sentence (`Billing/c-1: …`) is not part of the id.
        const id = match.replace(/[:.;!?]+$/, '');
        return `${kind}/${customer(id) as string}${match.slice(id.length)}`;
      }),
  };
}

/** A log line's object with customer references pseudonymised in its text fields (one level, and `err`). */
export function pseudonymiseLine(object: Record<string, unknown>, pseudonyms: LogPseudonyms): Record<string, unknown> {
  let changed: Record<string, unknown> | undefined;
  for (const [field, value] of Object.entries(object)) {
    let next: unknown = value;
    if (typeof value === 'string') next = pseudonyms.text(value);
    else if (value instanceof Error) next = { type: value.name, message: pseudonyms.text(value.message), stack: value.stack === undefined ? undefined : pseudonyms.text(value.stack) };
    if (next !== value) (changed ??= { ...object })[field] = next;
  }
  return changed ?? object;
}
