/**
 * The draft-cavage HTTP signature as Kong's hmac-auth reads and checks it
 * (kong/plugins/hmac-auth/access.lua):
 *  - the header value matches
 *    `\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)"`;
 *  - the signing string joins, with "\n", for each name of `headers`:
 *    `name: value` (the request header's first value), `request-line` →
 *    `METHOD /path?query HTTP/1.1`, `@request-target` → `method /path?query`,
 *    and `name:` for a header the request lacks;
 *  - signature = base64(HMAC_<alg>(secret, signing string)), compared as bytes (constant time here);
 *  - the request target is the path and query as the client sent them.
 */
import { Buffer } from 'node:buffer';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';

const FIELDS = /\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)"/;

export interface HmacParams {
  readonly username: string;
  readonly algorithm: string;
  readonly headers: readonly string[];
  readonly signature: string;
}

export function parseHmac(value: string | undefined): HmacParams | null {
  if (value === undefined) return null;
  const m = FIELDS.exec(value);
  if (m === null) return null;
  return { username: m[1]!, algorithm: m[2]!, headers: m[3]!.split(' ').filter((h) => h !== ''), signature: m[4]! };
}

const DIGESTS: Readonly<Record<string, string>> = { 'hmac-sha1': 'sha1', 'hmac-sha256': 'sha256', 'hmac-sha384': 'sha384', 'hmac-sha512': 'sha512' };

function requestTarget(ctx: RequestContext): string {
  return ctx.query === '' ? ctx.rawPath : `${ctx.rawPath}?${ctx.query}`;
}

export function signingString(ctx: RequestContext, headers: readonly string[]): string {
  const target = requestTarget(ctx);
  const lines = headers.map((name) => {
    const value = pdk.request.getHeader(ctx, name.toLowerCase());
    if (value !== undefined) return `${name}: ${value}`;
    if (name === '@request-target') return `${name}: ${ctx.method.toLowerCase()} ${target}`;
    if (name === 'request-line') return `${ctx.method} ${target} HTTP/${Number(ctx.req.httpVersion).toFixed(1)}`;
    return `${name}:`;
  });
  return lines.join('\n');
}

export function signatureMatches(ctx: RequestContext, params: HmacParams, secret: string): boolean {
  const digest = DIGESTS[params.algorithm];
  if (digest === undefined) return false;
  const expected = createHmac(digest, secret).update(signingString(ctx, params.headers), 'utf8').digest();
  const given = Buffer.from(params.signature, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Kong's validate_body: `Digest: SHA-256=<base64>` of the body; no Digest is fine only for an empty body. */
export function digestMatches(body: Buffer, digestHeader: string | undefined): boolean {
  if (digestHeader === undefined) return body.length === 0;
  return `SHA-256=${createHash('sha256').update(body).digest('base64')}` === digestHeader;
}
