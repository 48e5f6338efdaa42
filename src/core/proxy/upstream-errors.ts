/**
 * Upstream failures → the catalogued error Kong answers with
 * (nginx upstream errors through kong/error_handlers.lua):
 *   connect/read/write timeouts                     → 504 UPSTREAM_TIMEOUT
 *   refused, reset, closed early, unparsable answer,
 *   TLS failures                                    → 502 UPSTREAM_INVALID_RESPONSE
 *   DNS failure                                     → 503 NAME_RESOLUTION_FAILED
 * `retryable` says whether another try could help (Kong's `retries`, nginx
 * proxy_next_upstream error timeout); the caller also checks what was sent.
 */
import { ProxyError, type ProxyErrorCode } from '../errors.ts';
import { UPSTREAM_CODES as U } from '../upstream/types.ts';

export interface UpstreamFailure {
  readonly error: ProxyError;
  /** A timeout of any kind. */
  readonly timeout: boolean;
  /** Worth another try on a fresh connection (if nothing unrepeatable was sent). */
  readonly retryable: boolean;
}

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const TIMEOUTS = new Set<string>([U.CONNECT_TIMEOUT, 'ETIMEDOUT', 'PORTCULLIS_WRITE_TIMEOUT', 'PORTCULLIS_READ_TIMEOUT']);
const CONNECTION = new Set<string>(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', U.CLOSED, U.POOL_CLOSED]);

function codeOf(err: unknown): string {
  if (err === null || typeof err !== 'object') return '';
  const e = err as { code?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  // net.connect with autoSelectFamily reports every attempt in an AggregateError.
  if (Array.isArray(e.errors) && e.errors.length > 0) return codeOf(e.errors[e.errors.length - 1]);
  return '';
}

function detailOf(err: unknown, code: string): string {
  const msg = err instanceof Error ? err.message : String(err);
  return code === '' ? msg : `${code}: ${msg}`;
}

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = codeOf(err);
  let catalog: ProxyErrorCode = 'UPSTREAM_INVALID_RESPONSE';
  let timeout = false;
  let retryable = false;
  if (TIMEOUTS.has(code)) {
    catalog = 'UPSTREAM_TIMEOUT';
    timeout = true;
    // Only a connect timeout is retried: a read timeout retried `retries` times multiplies latency.
    retryable = code === U.CONNECT_TIMEOUT;
  } else if (DNS.has(code)) {
    catalog = 'NAME_RESOLUTION_FAILED';
  } else if (CONNECTION.has(code)) {
    retryable = true;
  }
  // HTTP parse errors (HPE_*), header overflow, TLS verification failures: 502, a retry would not help.
  return { error: new ProxyError(catalog, detailOf(err, code)), timeout, retryable };
}

/** The client stopped sending (aborted, or sent a body shorter than its Content-Length). */
export function isClientBodyError(err: unknown): boolean {
  const code = codeOf(err);
  return code === U.BODY_ABORTED || code === U.BODY_LENGTH_MISMATCH || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
