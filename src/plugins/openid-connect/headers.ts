/**
 * What the upstream and the client see (ARCHITECTURE principle 7, "inject").
 *
 * Sanitise before you inject (principle 8): every header this plugin
 * instance may set upstream — token headers, claim headers, the session id
 * header — is removed from the client's request first, on every request,
 * whether or not it is set this time. (Consumer headers: consumer.ts.)
 *
 * Kong's header settings:
 * - `upstream_access_token_header` (default `authorization:bearer`): the
 *   special forms `authorization:bearer` / `authorization:basic` set
 *   `Authorization: Bearer <token>` / `Basic <token>`;
 * - `*_id_token_header`, `*_refresh_token_header`, `*_user_info_header`,
 *   `*_introspection_header`, `*_access_token_jwk_header`,
 *   `*_id_token_jwk_header`, `*_session_id_header`;
 * - claim headers: `upstream_headers` / `downstream_headers` (3.14+, nested
 *   paths) and the older `*_headers_claims` + `*_headers_names` (top-level
 *   claims), looked up in the introspection response, then the access token,
 *   then the ID token, then (with `search_user_info`) the user info.
 * Values: strings as they are, numbers and booleans as text, objects and
 * arrays as JSON then base64 (claims.ts `headerValue`). Downstream headers
 * are appended to the client's response.
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { findClaim, headerValue } from './claims.ts';

export interface HeaderTarget {
  /** Lower-case header name. */
  readonly name: string;
  /** 'Bearer ' / 'Basic ' for the authorization:* forms, else ''. */
  readonly prefix: string;
}

export type TokenHeaderKind = 'access_token' | 'access_token_jwk' | 'id_token' | 'id_token_jwk' | 'refresh_token' | 'user_info' | 'user_info_jwt' | 'introspection' | 'introspection_jwt' | 'session_id';

export const TOKEN_HEADER_KINDS: readonly TokenHeaderKind[] = ['access_token', 'access_token_jwk', 'id_token', 'id_token_jwk', 'refresh_token', 'user_info', 'user_info_jwt', 'introspection', 'introspection_jwt', 'session_id'];

export interface ClaimHeader {
  readonly header: string;
  readonly path: readonly string[];
}

export interface HeaderPlan {
  readonly upstream: Readonly<Partial<Record<TokenHeaderKind, HeaderTarget>>>;
  readonly downstream: Readonly<Partial<Record<TokenHeaderKind, HeaderTarget>>>;
  readonly upstreamClaims: readonly ClaimHeader[];
  readonly downstreamClaims: readonly ClaimHeader[];
  /** Every upstream header name this instance may set (lower-case), removed from the client's request first. */
  readonly sanitize: readonly string[];
  /** Does any header need the user info / introspection response? */
  readonly needsUserinfo: boolean;
  readonly needsIntrospection: boolean;
}

export function target(spec: string | null): HeaderTarget | null {
  if (spec === null || spec === '') return null;
  const lower = spec.toLowerCase();
  if (lower === 'authorization:bearer') return { name: 'authorization', prefix: 'Bearer ' };
  if (lower === 'authorization:basic') return { name: 'authorization', prefix: 'Basic ' };
  return { name: lower, prefix: '' };
}

function claimHeaders(mappings: Array<{ header: string; path: string[] }> | null, legacyClaims: string[] | null | undefined, legacyNames: string[] | null | undefined): ClaimHeader[] {
  const out: ClaimHeader[] = [];
  if (legacyClaims && legacyNames && legacyClaims.length > 0) {
    // The deprecated pair was sent: Kong translates it into upstream_headers; it wins.
    for (let i = 0; i < legacyClaims.length && i < legacyNames.length; i++) out.push({ header: legacyNames[i]!.toLowerCase(), path: [legacyClaims[i]!] });
    return out;
  }
  for (const m of mappings ?? []) out.push({ header: m.header.toLowerCase(), path: Object.freeze([...m.path]) });
  return out;
}

export function compileHeaders(c: Record<string, unknown> & {
  upstream_headers: Array<{ header: string; path: string[] }> | null;
  downstream_headers: Array<{ header: string; path: string[] }> | null;
  upstream_headers_claims?: string[] | null;
  upstream_headers_names?: string[] | null;
  downstream_headers_claims?: string[] | null;
  downstream_headers_names?: string[] | null;
}): HeaderPlan {
  const upstream: Partial<Record<TokenHeaderKind, HeaderTarget>> = {};
  const downstream: Partial<Record<TokenHeaderKind, HeaderTarget>> = {};
  for (const kind of TOKEN_HEADER_KINDS) {
    const u = target((c[`upstream_${kind}_header`] as string | null | undefined) ?? null);
    if (u !== null) upstream[kind] = Object.freeze(u);
    const d = target((c[`downstream_${kind}_header`] as string | null | undefined) ?? null);
    if (d !== null) downstream[kind] = Object.freeze(d);
  }
  const upstreamClaims = claimHeaders(c.upstream_headers, c.upstream_headers_claims, c.upstream_headers_names);
  const downstreamClaims = claimHeaders(c.downstream_headers, c.downstream_headers_claims, c.downstream_headers_names);
  const sanitize = new Set<string>();
  for (const t of Object.values(upstream)) sanitize.add(t.name);
  for (const h of upstreamClaims) sanitize.add(h.header);
  return Object.freeze({
    upstream: Object.freeze(upstream),
    downstream: Object.freeze(downstream),
    upstreamClaims: Object.freeze(upstreamClaims),
    downstreamClaims: Object.freeze(downstreamClaims),
    sanitize: Object.freeze([...sanitize]),
    needsUserinfo: upstream.user_info !== undefined || downstream.user_info !== undefined,
    needsIntrospection: upstream.introspection !== undefined || downstream.introspection !== undefined,
  });
}

/** Remove every upstream header this instance may set (principle 8). */
export function sanitizeHeaders(ctx: RequestContext, plan: HeaderPlan): void {
  for (const name of plan.sanitize) pdk.serviceRequest.clearHeader(ctx, name);
}

/** What the header values are made of, gathered by the access phase. */
export interface HeaderSources {
  accessToken: string | null;
  idToken: string | null;
  refreshToken: string | null;
  accessClaims: Record<string, unknown> | null;
  idClaims: Record<string, unknown> | null;
  introspection: Record<string, unknown> | null;
  userinfo: Record<string, unknown> | null;
  accessTokenJwk: unknown;
  idTokenJwk: unknown;
  sessionId: string | null;
}

function valueFor(kind: TokenHeaderKind, s: HeaderSources): string | null {
  switch (kind) {
    case 'access_token':
      return s.accessToken;
    case 'id_token':
      return s.idToken;
    case 'refresh_token':
      return s.refreshToken;
    case 'introspection':
      return headerValue(s.introspection);
    case 'user_info':
      return headerValue(s.userinfo);
    case 'access_token_jwk':
      return headerValue(s.accessTokenJwk);
    case 'id_token_jwk':
      return headerValue(s.idTokenJwk);
    case 'session_id':
      return s.sessionId;
    default:
      // *_jwt variants: only set when the IdP answered with a JWT, which Portcullis does not request.
      return null;
  }
}

function claimIn(src: Record<string, unknown> | null, path: readonly string[]): string | null {
  return src === null ? null : headerValue(findClaim(src, path));
}

/** Kong's search order: introspection, access token, ID token, user info (no per-request array). */
function claimValue(h: ClaimHeader, s: HeaderSources): string | null {
  return claimIn(s.introspection, h.path) ?? claimIn(s.accessClaims, h.path) ?? claimIn(s.idClaims, h.path) ?? claimIn(s.userinfo, h.path);
}

/** Collects downstream headers; they are appended to the client's response in header_filter. */
export interface DownstreamSink {
  addDownstream(name: string, value: string): void;
}

/** Set the upstream headers and queue the downstream ones. */
export function injectHeaders(ctx: RequestContext, plan: HeaderPlan, s: HeaderSources, sink: DownstreamSink): void {
  for (const h of plan.upstreamClaims) {
    const v = claimValue(h, s);
    if (v !== null) pdk.serviceRequest.setHeader(ctx, h.header, v);
  }
  for (const h of plan.downstreamClaims) {
    const v = claimValue(h, s);
    if (v !== null) sink.addDownstream(h.header, v);
  }
  for (const kind of TOKEN_HEADER_KINDS) {
    const u = plan.upstream[kind];
    const d = plan.downstream[kind];
    if (u === undefined && d === undefined) continue;
    const v = valueFor(kind, s);
    if (v === null) continue;
    if (u !== undefined) pdk.serviceRequest.setHeader(ctx, u.name, u.prefix + v);
    if (d !== undefined) sink.addDownstream(d.name, d.prefix + v);
  }
}
