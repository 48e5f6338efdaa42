/**
 * An upstream exchange's failure → its cause in the error vocabulary
 * (src/core/errors.ts CAUSES), which says the answer Kong gives (nginx
 * upstream errors through kong/error_handlers.lua), whether it is a timeout
 * and whether another try could help (Kong's `retries`, nginx
 * proxy_next_upstream error timeout; the caller also checks what was sent).
 * Our own client reports causes as err.code; Node's socket and DNS codes are
 * mapped here.
 */
import { CAUSES, ProxyError, type CauseCode } from '../errors.ts';

export interface UpstreamFailure {
  readonly error: ProxyError;
  readonly cause: CauseCode;
  /** A timeout of any kind. */
  readonly timeout: boolean;
  /** Worth another try on a fresh connection (if nothing unrepeatable was sent). */
  readonly retryable: boolean;
}

const NODE_CODES: ReadonlyMap<string, CauseCode> = new Map<string, CauseCode>([
  ['ENOTFOUND', 'UPSTREAM_DNS_FAILED'],
  ['EAI_AGAIN', 'UPSTREAM_DNS_FAILED'],
  ['EAI_FAIL', 'UPSTREAM_DNS_FAILED'],
  ['EAI_NONAME', 'UPSTREAM_DNS_FAILED'],
  ['EAI_NODATA', 'UPSTREAM_DNS_FAILED'],
  ['ETIMEDOUT', 'UPSTREAM_SOCKET_TIMEOUT'],
  ['ECONNREFUSED', 'UPSTREAM_CONNECTION_FAILED'],
  ['ECONNRESET', 'UPSTREAM_CONNECTION_FAILED'],
  ['EPIPE', 'UPSTREAM_CONNECTION_FAILED'],
  ['EHOSTUNREACH', 'UPSTREAM_CONNECTION_FAILED'],
  ['ENETUNREACH', 'UPSTREAM_CONNECTION_FAILED'],
  ['EADDRNOTAVAIL', 'UPSTREAM_CONNECTION_FAILED'],
  // The client's body stream broke off.
  ['ECONNABORTED', 'REQUEST_BODY_ABORTED'],
  ['ERR_STREAM_PREMATURE_CLOSE', 'REQUEST_BODY_ABORTED'],
]);

function codeOf(err: unknown): string {
  if (err === null || typeof err !== 'object') return '';
  const e = err as { code?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  // net.connect with autoSelectFamily reports every attempt in an AggregateError.
  if (Array.isArray(e.errors) && e.errors.length > 0) return codeOf(e.errors[e.errors.length - 1]);
  return '';
}

/**
 * The cause of a failure the upstream client reported. HTTP parse errors (HPE_*),
 * TLS failures and anything unknown: UPSTREAM_FAILED (502, a retry would not help).
 * A failure of the client's request body counts only while the answer has not
 * started (`clientBodyCounts`); after it, it is the upstream exchange that failed.
 */
export function causeOf(err: unknown, clientBodyCounts: boolean): CauseCode {
  const code = codeOf(err);
  const mapped = Object.hasOwn(CAUSES, code) ? (code as CauseCode) : (NODE_CODES.get(code) ?? 'UPSTREAM_FAILED');
  if (!clientBodyCounts && CAUSES[mapped].source === 'client') return 'UPSTREAM_FAILED';
  return mapped;
}

export function classifyUpstreamError(err: unknown, clientBodyCounts = true): UpstreamFailure {
  const cause = causeOf(err, clientBodyCounts);
  const code = codeOf(err);
  const msg = err instanceof Error ? err.message : String(err);
  const entry = CAUSES[cause];
  return { error: new ProxyError(cause, code === '' || code === cause ? msg : `${code}: ${msg}`), cause, timeout: entry.timeout, retryable: entry.retryable };
}
