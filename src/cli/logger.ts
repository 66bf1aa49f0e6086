import { pino, type Logger, type LoggerOptions } from 'pino';
import { CUSTOMER_ID_LOG_PATHS, logPseudonyms, pseudonymiseLine } from './log-pseudonyms.ts';

/**
 * The CLI's logger. Logs always go to stderr, so a REPL or a command's output on stdout stays
 * readable and parseable: pretty (pino-pretty, coloured, local time) when stderr is a terminal,
 * for a person watching it; JSON lines otherwise, for a log collector.
 *
 * pino-pretty is loaded only for a terminal: a node in production never pays for it.
 *
 * Customer ids are pseudonymised on every line (`log-pseudonyms.ts`): fields named `customerId`
 * and `Kind/<id>` references in text, unless GOVERNOR_LOG_CUSTOMER_IDS=1.
 */
export async function createLogger(level: string, stderr: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): Promise<Logger> {
  const options = loggerOptions(level, env);
  if (stderr.isTTY !== true) return pino(options, pino.destination(2));
  const { default: pretty } = await import('pino-pretty');
  // sync: a log line written just before the process exits (a failed start) is not lost.
  return pino(options, pretty({ destination: 2, sync: true, colorize: colorOn(env), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}

/** The logger's level, redaction and customer pseudonyms, whatever the destination. */
export function loggerOptions(level: string, env: NodeJS.ProcessEnv): LoggerOptions {
  const pseudonyms = logPseudonyms(env);
  if (!pseudonyms) return { level, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } };
  const customerPaths = new Set(CUSTOMER_ID_LOG_PATHS.map((path) => path.replace('*.', '')));
  return {
    level,
    // One redaction pass: a customer id becomes its pseudonym, anything else listed becomes [redacted].
    redact: { paths: [...REDACTED_LOG_PATHS, ...CUSTOMER_ID_LOG_PATHS], censor: (value: unknown, path: string[]) => (customerPaths.has(path.at(-1)!) ? pseudonyms.customer(value) : '[redacted]') },
    formatters: { log: (object) => pseudonymiseLine(object, pseudonyms) },
    hooks: {
      // The message text too: `Billing/<id>` in a message names a customer as much as a field does.
      logMethod(args, method) {
        const at = typeof args[0] === 'string' ? 0 : typeof args[1] === 'string' ? 1 : -1;
        if (at >= 0) args[at] = pseudonyms.text(args[at] as string);
        return method.apply(this, args);
      },
    },
  };
}

/**
 * What is never written to a log, whatever the level: secrets (tokens, signatures, keys) and the
 * arguments of admin commands, which may carry customer data (a `replace_state` patch, an event).
 */
export const REDACTED_LOG_PATHS = ['args', 'token', 'signature', 'secret', 'password', 'authorization', '*.token', '*.signature', '*.secret', '*.password', '*.authorization', 'contact', '*.contact'];

/** Colours on a terminal unless `NO_COLOR` is set (no-color.org) or `FORCE_COLOR` is `0`. */
export function colorOn(env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
}
