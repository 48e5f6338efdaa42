/**
 * The process logger (pino). Kong logs plugin decisions at `notice`, which
 * pino lacks, so it is added between info (30) and warn (40).
 * Secrets never reach a log line: tokens, cookies and client secrets are
 * redacted by path here and must never be interpolated into messages.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type LogLevel = LevelWithSilent | 'notice';

const REDACT = [
  'authorization',
  'cookie',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'client_secret',
  'config.client_secret',
  'access_token',
  'id_token',
  'refresh_token',
  'token',
  'password',
  'session_secret',
];

let root: Logger<'notice'> | null = null;

export function createLogger(level: LogLevel = 'info', destination?: NodeJS.WritableStream): Logger<'notice'> {
  const options = {
    level,
    customLevels: { notice: 35 },
    base: { pid: process.pid },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

/** The process-wide logger; `configureLogger` replaces it at start-up. */
export function logger(): Logger<'notice'> {
  if (root === null) root = createLogger((process.env.PORTCULLIS_LOG_LEVEL as LogLevel | undefined) ?? 'info');
  return root;
}

export function configureLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger<'notice'> {
  root = createLogger(level, destination);
  return root;
}
