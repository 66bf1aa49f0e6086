import { pino, type Logger } from 'pino';

/**
 * The CLI's logger. Logs always go to stderr, so a REPL or a command's output on stdout stays
 * readable and parseable: pretty (pino-pretty, coloured, local time) when stderr is a terminal,
 * for a person watching it; JSON lines otherwise, for a log collector.
 *
 * pino-pretty is loaded only for a terminal: a node in production never pays for it.
 */
export async function createLogger(level: string, stderr: { isTTY?: boolean } = process.stderr): Promise<Logger> {
  if (stderr.isTTY !== true) return pino({ level }, pino.destination(2));
  const { default: pretty } = await import('pino-pretty');
  // sync: a log line written just before the process exits (a failed start) is not lost.
  return pino({ level }, pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
