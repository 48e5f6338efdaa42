/**
 * Finding and decoding the JWT as Kong's jwt plugin does
 * (kong/plugins/jwt/handler.lua retrieve_tokens, jwt_parser.lua decode_token).
 *
 * Every non-empty token found in the query arguments (uri_param_names), the
 * cookies (cookie_names) and the headers (header_names, first value, matched
 * by `\s*[Bb]earer\s+(.+)`) is collected; the same token found twice counts
 * once, two different ones are "Multiple tokens provided".
 *
 * Decoding: split at the first two dots (the third part keeps any further
 * dots, and then fails as a signature); header and claims are base64url JSON
 * objects ("invalid JSON" otherwise), the header's `alg` must be one of the
 * algorithms we verify ("invalid alg": `none` included), the signature must
 * decode ("invalid signature").
 */
import { Buffer } from 'node:buffer';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { JWT_ALGORITHMS } from '../../schema/entities/jwt-secrets.ts';

const BEARER = /^\s*[Bb]earer\s+(.+)/s;
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const ALGS: ReadonlySet<string> = new Set(JWT_ALGORITHMS);

export type Retrieved = { token: string } | { multiple: true } | null;

export function retrieveTokens(ctx: RequestContext, uriParams: readonly string[], cookies: readonly string[], headers: readonly string[]): Retrieved {
  const found = new Set<string>();
  const query = pdk.request.getQuery(ctx);
  for (const name of uriParams) for (const v of query.getAll(name)) if (v !== '') found.add(v);
  for (const name of cookies) {
    const v = pdk.request.getCookie(ctx, name);
    if (v !== null && v !== '') found.add(v);
  }
  for (const name of headers) {
    const value = pdk.request.getHeader(ctx, name);
    if (value === undefined) continue;
    const at = value.search(/[Bb]earer/);
    const m = at === -1 ? null : BEARER.exec(value.slice(at));
    if (m !== null && m[1] !== '') found.add(m[1]!);
  }
  if (found.size === 0) return null;
  if (found.size > 1) return { multiple: true };
  return { token: found.values().next().value! };
}

export interface DecodedJwt {
  readonly token: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly alg: string;
}

/** Kong's base64_decode: base64url, padding optional; null when not base64. */
export function base64UrlDecode(input: string): Buffer | null {
  if (!B64URL.test(input) && !/^[A-Za-z0-9+/]*={0,2}$/.test(input)) return null;
  if (input.replace(/=+$/, '').length % 4 === 1) return null;
  return Buffer.from(input.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function jsonObject(part: string | undefined): Record<string, unknown> | null {
  if (part === undefined) return null;
  const bytes = base64UrlDecode(part);
  if (bytes === null) return null;
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The decoded token, or the reason Kong gives after "Bad token; ". */
export function decodeToken(token: string): DecodedJwt | { error: string } {
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1) return { error: 'invalid JSON' };
  const header = jsonObject(token.slice(0, first));
  const claims = jsonObject(token.slice(first + 1, second));
  if (header === null || claims === null) return { error: 'invalid JSON' };
  const alg = header.alg;
  if (typeof alg !== 'string' || !ALGS.has(alg)) return { error: 'invalid alg' };
  if (base64UrlDecode(token.slice(second + 1)) === null) return { error: 'invalid signature' };
  return { token, header, claims, alg };
}
