/**
 * The gateway's one error vocabulary (ARCHITECTURE principle 3, issue 12).
 *
 * Two tables, one union (`ErrorCode`):
 * - ANSWERS: what the client sees — Kong's status and public message, and the
 *   body's shape. The answer code is what the access log (`error_code`) and the
 *   metrics carry.
 * - CAUSES: why — the proxy, upstream client, plugin and openid-connect
 *   outcomes that end in an answer. A cause is never sent: it is logged
 *   (`cause`) with the instance's private detail (redacted; never a token,
 *   cookie or secret). Its public message is its answer's.
 *
 * src/core/respond.ts is the ONE place gateway answers become HTTP responses
 * (openid-connect answers its own outcomes through kong.response.exit, as Kong's
 * plugin does); docs/errors.md lists every code (test/unit/core/errors-doc.test.ts
 * keeps the two in step and fails on a code nothing raises).
 *
 * Admin API errors use Kong's numeric codes and live in src/admin/errors.ts.
 */

/**
 * `page`: Kong answers it through an nginx error page (kong/error_handlers.lua),
 * so without Accept the body type falls back to the request's Content-Type, then
 * text/plain. `exit`: Kong answers it with kong.response.exit and a bare
 * `{"message": …}`. `closes`: about the request body itself — the connection is
 * closed after answering when the body was not read to its end.
 */
interface Answer {
  readonly status: number;
  readonly message: string;
  readonly page: boolean;
  readonly exit: boolean;
  readonly closes: boolean;
}

function answer(status: number, message: string, shape: { page?: true; exit?: true; closes?: true } = {}): Answer {
  return { status, message, page: shape.page === true, exit: shape.exit === true, closes: shape.closes === true };
}

export const ANSWERS = {
  ROUTE_NOT_FOUND: answer(404, 'no Route matched with those values'),
  HTTPS_REQUIRED: answer(426, 'Please use HTTPS protocol'),
  BAD_REQUEST: answer(400, 'Bad request', { page: true, closes: true }),
  // The client stopped sending its body (nginx client_body_timeout; kong/error_handlers.lua s408).
  REQUEST_TIMEOUT: answer(408, 'Request timeout', { page: true, closes: true }),
  // The gateway's own body limit (nginx client_max_body_size; kong/error_handlers.lua s413).
  PAYLOAD_TOO_LARGE: answer(413, 'Payload too large', { page: true, closes: true }),
  // nginx's internal 494; kong/error_handlers.lua answers it as 400 with this message.
  HEADERS_TOO_LARGE: answer(400, 'Request header or cookie too large', { page: true }),
  UNAUTHORIZED: answer(401, 'Unauthorized'),
  FORBIDDEN: answer(403, 'Forbidden'),
  UPSTREAM_INVALID_RESPONSE: answer(502, 'An invalid response was received from the upstream server', { page: true }),
  UPSTREAM_UNAVAILABLE: answer(503, 'failure to get a peer from the ring-balancer'),
  NAME_RESOLUTION_FAILED: answer(503, 'name resolution failed'),
  // A route without a service that no plugin answered (Kong.access: kong.response.exit(503, {message=…})).
  NO_SERVICE: answer(503, 'no Service found with those values', { exit: true }),
  // kong/error_handlers.lua s504 (what Kong answers when proxy_read/connect/send timeouts fire).
  UPSTREAM_TIMEOUT: answer(504, 'The upstream server is timing out', { page: true }),
  INTERNAL: answer(500, 'An unexpected error occurred', { page: true }),
} as const satisfies Record<string, Answer>;

export type AnswerCode = keyof typeof ANSWERS;

export type CauseSource = 'client' | 'upstream' | 'plugin' | 'openid-connect';

interface Cause {
  readonly answer: AnswerCode;
  readonly source: CauseSource;
  /** Another try on a fresh connection could help (if nothing unrepeatable was sent). */
  readonly retryable: boolean;
  /** A timeout of any kind (passive health checks count them apart). */
  readonly timeout: boolean;
}

function cause(source: CauseSource, answer: AnswerCode, flags: { retryable?: true; timeout?: true } = {}): Cause {
  return { answer, source, retryable: flags.retryable === true, timeout: flags.timeout === true };
}

export const CAUSES = {
  // The client and its request body.
  REQUEST_BODY_TIMEOUT: cause('client', 'REQUEST_TIMEOUT'),
  REQUEST_BODY_TOO_LARGE: cause('client', 'PAYLOAD_TOO_LARGE'),
  REQUEST_BODY_ABORTED: cause('client', 'BAD_REQUEST'),
  REQUEST_BODY_LENGTH_MISMATCH: cause('client', 'BAD_REQUEST'),
  // The upstream and the HTTP/1.1 client (src/core/upstream reports these as err.code).
  // Only a connect timeout is retried: a read timeout retried `retries` times multiplies latency.
  UPSTREAM_CONNECT_TIMEOUT: cause('upstream', 'UPSTREAM_TIMEOUT', { retryable: true, timeout: true }),
  UPSTREAM_WRITE_TIMEOUT: cause('upstream', 'UPSTREAM_TIMEOUT', { timeout: true }),
  UPSTREAM_READ_TIMEOUT: cause('upstream', 'UPSTREAM_TIMEOUT', { timeout: true }),
  UPSTREAM_SOCKET_TIMEOUT: cause('upstream', 'UPSTREAM_TIMEOUT', { timeout: true }),
  UPSTREAM_CONNECTION_FAILED: cause('upstream', 'UPSTREAM_INVALID_RESPONSE', { retryable: true }),
  UPSTREAM_CLOSED: cause('upstream', 'UPSTREAM_INVALID_RESPONSE', { retryable: true }),
  UPSTREAM_POOL_CLOSED: cause('upstream', 'UPSTREAM_INVALID_RESPONSE', { retryable: true }),
  UPSTREAM_BAD_RESPONSE: cause('upstream', 'UPSTREAM_INVALID_RESPONSE'),
  UPSTREAM_HEADERS_OVERFLOW: cause('upstream', 'UPSTREAM_INVALID_RESPONSE'),
  UPSTREAM_UNRELAYABLE_RESPONSE: cause('upstream', 'UPSTREAM_INVALID_RESPONSE'),
  UPSTREAM_FAILED: cause('upstream', 'UPSTREAM_INVALID_RESPONSE'),
  UPSTREAM_DNS_FAILED: cause('upstream', 'NAME_RESOLUTION_FAILED'),
  UPSTREAM_INVALID_REQUEST: cause('plugin', 'INTERNAL'),
  // Plugins.
  PLUGIN_FAILED: cause('plugin', 'INTERNAL'),
  // openid-connect: Kong's unexpected() — answered by the plugin as kong.response.exit(500, {message}).
  IDP_UNAVAILABLE: cause('openid-connect', 'INTERNAL'),
  OIDC_UNEXPECTED: cause('openid-connect', 'INTERNAL'),
  SESSION_STORE_UNAVAILABLE: cause('openid-connect', 'INTERNAL'),
  SESSION_TOO_LARGE: cause('openid-connect', 'INTERNAL'),
} as const satisfies Record<string, Cause>;

export type CauseCode = keyof typeof CAUSES;
/** The causes the upstream client and the exchange's timer report as err.code. */
export type UpstreamCauseCode = Extract<CauseCode, `UPSTREAM_${string}` | `REQUEST_BODY_${string}`>;
export type ErrorCode = AnswerCode | CauseCode;

function isCause(code: ErrorCode): code is CauseCode {
  return Object.hasOwn(CAUSES, code);
}

/** The answer a code ends in. */
export function answerOf(code: ErrorCode): AnswerCode {
  return isCause(code) ? CAUSES[code].answer : code;
}

export class ProxyError extends Error {
  /** The answer (what the client sees; the access log's error_code). */
  readonly code: AnswerCode;
  /** Why, when more precise than the answer; logged, never sent. */
  readonly reason: CauseCode | null;
  readonly status: number;
  readonly publicMessage: string;
  /** Private, log-only detail. Never a token, cookie or secret. */
  readonly detail: string | undefined;
  constructor(code: ErrorCode, detail?: string, publicMessage?: string) {
    const answerCode = answerOf(code);
    // No stack: a catalogued answer (404, 401, 502…) is an outcome, not a bug, and capturing a
    // stack on every one made a flood of unmatched requests ~5% dearer (perf, deopt-frame walks).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail ?? ANSWERS[answerCode].message);
    Error.stackTraceLimit = limit;
    this.name = 'ProxyError';
    this.code = answerCode;
    this.reason = answerCode === code ? null : (code as CauseCode);
    this.status = ANSWERS[answerCode].status;
    this.publicMessage = publicMessage ?? ANSWERS[answerCode].message;
    this.detail = detail;
  }
}

/** An error the upstream client reports: `code` names its cause (classified by proxy/upstream-errors.ts). */
export function upstreamError(code: UpstreamCauseCode, message: string, origin?: unknown): Error & { code: UpstreamCauseCode } {
  const err = new Error(message, origin === undefined ? undefined : { cause: origin }) as Error & { code: UpstreamCauseCode };
  err.code = code;
  return err;
}
