import { pino, type Logger } from 'pino';

/**
 * The CLI's logger. Logs always go to stderr, so a REPL or a command's output on stdout stays
 * readable and parseable: pretty (pino-pretty, coloured, local time) when stderr is a terminal,
 * for a person watching it; JSON lines otherwise, for a log collector.
 *
 * pino-pretty is loaded only for a terminal: a node in production never pays for it.
 */
export async function createLogger(level: string, stderr: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): Promise<Logger> {
  const options = { level, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } };
  if (stderr.isTTY !== true) return pino(options, pino.destination(2));
  const { default: pretty } = await import('pino-pretty');
  // sync: a log line written just before the process exits (a failed start) is not lost.
  return pino(options, pretty({ destination: 2, sync: true, colorize: colorOn(env), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
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
