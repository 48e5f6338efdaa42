/**
 * The process logger (pino). Kong logs plugin decisions at `notice`, which
 * pino lacks, so it is added between info (30) and warn (40).
 * Secrets never reach a log line: tokens, cookies and client secrets are
 * redacted by path here and must never be interpolated into messages.
 */
import process from 'node:process';
import { pino, type Logger, type LevelWithSilent, type LogFn } from 'pino';

export type LogLevel = LevelWithSilent | 'notice';

/** A pino Logger that also has Kong's `notice` level; assignable wherever a plain Logger is expected. */
export type GatewayLogger = Logger & { notice: LogFn };

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

let root: GatewayLogger | null = null;

export function createLogger(level: LogLevel = 'info', destination?: NodeJS.WritableStream): GatewayLogger {
  const options = {
    level,
    customLevels: { notice: 35 },
    base: { pid: process.pid },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // stdout is written asynchronously (sonic-boom sync: false): a synchronous write(2) per
  // access-log line would stall the proxy. pino flushes what is buffered when the process
  // exits, and sonic-boom never drops a line (no maxLength).
  const log = pino(options, destination ? (destination as pino.DestinationStream) : pino.destination({ dest: 1, sync: false }));
  return log as unknown as GatewayLogger;
}

/** The process-wide logger; `configureLogger` replaces it at start-up. */
export function logger(): GatewayLogger {
  if (root === null) root = createLogger((process.env.PORTCULLIS_LOG_LEVEL as LogLevel | undefined) ?? 'info');
  return root;
}

export function configureLogger(level: LogLevel, destination?: NodeJS.WritableStream): GatewayLogger {
  root = createLogger(level, destination);
  return root;
}
