/**
 * The request the upstream client sends for one proxied request, built once
 * after the access phase and reused by every try: method, target (escaped as
 * Kong escapes upstream_uri), the header bag, and the body with its length.
 *
 * The body is a plugin's replacement or the buffered body, else the client's
 * own stream. Its length for the client's framing is the stream's
 * Content-Length as node:http validated it (-1: unknown, sent chunked);
 * nothing a plugin put in the headers frames the request (docs/ARCHITECTURE.md,
 * "Framing invariants").
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { RequestContext } from '../context.ts';
import { ProxyError } from '../errors.ts';
import type { HeaderValues, UpstreamRequest } from '../upstream/types.ts';

const NOT_TARGET_SAFE = /[^\x21-\x7e]/;

/** The upstream request, or the error that answers the client (body too large, a handshake with a body). */
export function upstreamRequest(ctx: RequestContext, maxBodyBytes: number | null, upgrade: boolean, hasQueryMark: boolean): UpstreamRequest | ProxyError {
  let body: Buffer | IncomingMessage | null = ctx.upstreamBody ?? ctx.requestBody;
  let bodyLength = -1;
  if (body === null) {
    const req = ctx.req;
    const cl = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (chunked || (cl !== undefined && cl !== '0')) {
      // A handshake has no body: bytes after it are the new protocol's (RFC 6455 §4.1).
      if (upgrade) return new ProxyError('BAD_REQUEST', 'upgrade request with a body');
      if (maxBodyBytes !== null && cl !== undefined && Number(cl) > maxBodyBytes) return new ProxyError('REQUEST_BODY_TOO_LARGE', `declared body of ${cl} bytes exceeds ${maxBodyBytes}`);
      // Only node:http's IncomingMessage carries a body (the fast lane serves bodyless requests).
      body = req instanceof Readable ? (req as IncomingMessage) : null;
      if (!chunked && cl !== undefined) bodyLength = Number(cl);
    }
  }
  let target = ctx.upstreamPath;
  const query = ctx.upstreamQuery;
  if (query !== '') target += '?' + query;
  else if (hasQueryMark && ctx.query === '') target += '?'; // Kong keeps a bare trailing `?`
  if (NOT_TARGET_SAFE.test(target)) target = escapeTarget(target);
  return {
    path: target,
    method: ctx.upstreamMethod,
    headers: ctx.upstreamHeaders as HeaderValues,
    body,
    bodyLength,
    upgrade: upgrade ? 'websocket' : null,
  };
}

/** Percent-encode what may not appear raw in a request target (Kong escapes upstream_uri too). */
function escapeTarget(target: string): string {
  let out = '';
  for (const ch of target) {
    const code = ch.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}
