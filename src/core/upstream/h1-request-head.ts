/**
 * The upstream HTTP/1.1 client's request side of the codec: the request line
 * and header block written in one piece (requestHead), the body framing it
 * states, and whether a request may be sent again (replayable). Used by the
 * pool (h1-pool.ts) when a request is dispatched and by the connection
 * (h1-connection.ts) while it streams a body.
 */
import { Buffer } from 'node:buffer';
import { fieldLines, FRAMING_FIELDS, IDEMPOTENT_METHODS, isFieldName, isFieldValue } from '../http1/syntax.ts';
import { upstreamError } from '../errors.ts';
import type { UpstreamRequest } from './types.ts';

/** Request targets: no whitespace, controls or characters beyond latin1 (upstream-request.ts escapes them). */
const BAD_TARGET = /[^\x21-\x7e\x80-\xff]/;
/** Methods whose requests carry a body by definition: `Content-Length: 0` when they have none (as undici, nginx). */
const EXPECTS_BODY: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/** A stream body's declared length, or -1 (sent chunked) when it is not a whole number of bytes. */
export function streamLength(req: UpstreamRequest): number {
  return Number.isSafeInteger(req.bodyLength) && req.bodyLength >= 0 ? req.bodyLength : -1;
}

/** Safe to send again after a failure (RFC 9112 §9.3.1): an idempotent method with a body that can be written again. */
export function replayable(req: UpstreamRequest): boolean {
  return IDEMPOTENT_METHODS.has(req.method) && (req.body === null || Buffer.isBuffer(req.body));
}

/**
 * The request line and header block, or the error that makes it unsendable
 * (exported for bench/micro). Framing is this client's alone
 * (docs/ARCHITECTURE.md, "Framing invariants"): every framing or connection
 * field the caller put in `headers` is dropped, and the head states the body
 * the client will actually write — Content-Length for a Buffer or a stream of
 * known length, chunked for a stream of unknown length, nothing for no body
 * (`Content-Length: 0` for methods that expect one, as nginx and undici).
 */
export function requestHead(req: UpstreamRequest): string | Error {
  const method = req.method;
  if (!isFieldName(method)) return upstreamError('UPSTREAM_INVALID_REQUEST', `invalid method ${JSON.stringify(method)}`);
  if (req.path === '' || BAD_TARGET.test(req.path)) return upstreamError('UPSTREAM_INVALID_REQUEST', 'invalid request target');
  let head = method + ' ' + req.path + ' HTTP/1.1\r\n';
  const headers = req.headers;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || FRAMING_FIELDS.has(name)) continue;
    if (!isFieldName(name)) return upstreamError('UPSTREAM_INVALID_REQUEST', `invalid header name ${JSON.stringify(name)}`);
    const lines = fieldLines(name, value);
    if (lines === null) return upstreamError('UPSTREAM_INVALID_REQUEST', `invalid value for header ${name}`);
    head += lines;
  }
  const body = req.body;
  if (body === null) {
    if (EXPECTS_BODY.has(method)) head += 'content-length: 0\r\n';
  } else if (Buffer.isBuffer(body)) {
    if (body.length > 0 || EXPECTS_BODY.has(method)) head += 'content-length: ' + body.length + '\r\n';
  } else if (streamLength(req) >= 0) {
    head += 'content-length: ' + req.bodyLength + '\r\n';
  } else {
    head += 'transfer-encoding: chunked\r\n';
  }
  if (req.upgrade !== null) {
    if (!isFieldValue(req.upgrade)) return upstreamError('UPSTREAM_INVALID_REQUEST', 'invalid upgrade protocol');
    head += 'connection: keep-alive, Upgrade\r\nupgrade: ' + req.upgrade + '\r\n';
  }
  return head + '\r\n';
}
