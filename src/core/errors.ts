/**
 * The proxy-side error catalog (ARCHITECTURE principle 3). Every error the
 * gateway itself answers with has a stable code, Kong's status and public
 * message, and an optional private detail that is only logged (redacted).
 * src/core/respond.ts is the ONE place these become HTTP responses;
 * docs/errors.md lists every code (a test keeps them in step).
 *
 * Admin API errors use Kong's numeric codes and live in src/admin/errors.ts.
 */

export const PROXY_ERRORS = {
  ROUTE_NOT_FOUND: { status: 404, message: 'no Route matched with those values' },
  HTTPS_REQUIRED: { status: 426, message: 'Please use HTTPS protocol' },
  BAD_REQUEST: { status: 400, message: 'Bad request' },
  // The client stopped sending its body (nginx client_body_timeout; kong/error_handlers.lua s408).
  REQUEST_TIMEOUT: { status: 408, message: 'Request timeout' },
  // The gateway's own body limit (nginx client_max_body_size; kong/error_handlers.lua s413).
  PAYLOAD_TOO_LARGE: { status: 413, message: 'Payload too large' },
  // nginx's internal 494; kong/error_handlers.lua answers it as 400 with this message.
  HEADERS_TOO_LARGE: { status: 400, message: 'Request header or cookie too large' },
  UNAUTHORIZED: { status: 401, message: 'Unauthorized' },
  FORBIDDEN: { status: 403, message: 'Forbidden' },
  UPSTREAM_INVALID_RESPONSE: { status: 502, message: 'An invalid response was received from the upstream server' },
  UPSTREAM_UNAVAILABLE: { status: 503, message: 'failure to get a peer from the ring-balancer' },
  NAME_RESOLUTION_FAILED: { status: 503, message: 'name resolution failed' },
  // A route without a service that no plugin answered (Kong.access: kong.response.exit(503, {message=…})).
  NO_SERVICE: { status: 503, message: 'no Service found with those values' },
  // kong/error_handlers.lua s504 (what Kong answers when proxy_read/connect/send timeouts fire).
  UPSTREAM_TIMEOUT: { status: 504, message: 'The upstream server is timing out' },
  INTERNAL: { status: 500, message: 'An unexpected error occurred' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ProxyErrorCode = keyof typeof PROXY_ERRORS;

export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly status: number;
  readonly publicMessage: string;
  /** Private, log-only detail. Never a token, cookie or secret. */
  readonly detail: string | undefined;
  constructor(code: ProxyErrorCode, detail?: string, publicMessage?: string) {
    // No stack: a catalogued answer (404, 401, 502…) is an outcome, not a bug, and capturing a
    // stack on every one made a flood of unmatched requests ~5% dearer (perf, deopt-frame walks).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail ?? PROXY_ERRORS[code].message);
    Error.stackTraceLimit = limit;
    this.name = 'ProxyError';
    this.code = code;
    this.status = PROXY_ERRORS[code].status;
    this.publicMessage = publicMessage ?? PROXY_ERRORS[code].message;
    this.detail = detail;
  }
}
