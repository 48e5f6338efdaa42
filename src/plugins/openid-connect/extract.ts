/**
 * Where the credential is (ARCHITECTURE principle 7, "extract"). Kong reads:
 *
 * - bearer tokens (`bearer_token_param_type`, in the configured order):
 *   `header` — `Authorization: Bearer …` (RFC 6750 §2.1), then the
 *   `access_token` and `x-access-token` headers; `cookie` — the cookie named
 *   `bearer_token_cookie_name`; `query` — `access_token` (RFC 6750 §2.3);
 *   `body` — `access_token` in a form (RFC 6750 §2.2) or JSON body;
 * - password and client credentials (`password_param_type`,
 *   `client_credentials_param_type`): `Authorization: Basic` (with an
 *   optional `Grant-Type` header naming the grant), or `username`/`password`
 *   resp. `client_id`/`client_secret` arguments (with an optional
 *   `grant_type` argument);
 * - a refresh token in `refresh_token_param_name` (header, query or body);
 * - an ID token next to a bearer token in `id_token_param_name`.
 *
 * More than one Authorization header is refused outright (RFC 7230 §3.2.2
 * forbids repeating a non-list header; two credentials are ambiguous).
 * `hide_credentials` removes what was used from the upstream request.
 */
import { Buffer } from 'node:buffer';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { unauthorized } from './errors.ts';

export type ParamType = 'header' | 'query' | 'body' | 'cookie';
export type Location = 'header' | 'query' | 'body' | 'cookie' | 'access_token_header' | 'x_access_token_header';

export interface ExtractPlan {
  readonly bearer: readonly ParamType[];
  readonly bearerCookie: string | null;
  readonly password: readonly ParamType[];
  readonly clientCredentials: readonly ParamType[];
  readonly refreshParam: string | null;
  readonly refresh: readonly ParamType[];
  readonly idTokenParam: string | null;
  readonly idToken: readonly ParamType[];
  /** Largest body read to look for a credential. */
  readonly maxBodyBytes: number;
  /** `Authorization: DPoP <token>` is accepted too (proof_of_possession_dpop, RFC 9449 §7.1). */
  readonly dpopScheme: boolean;
}

export function compileExtract(c: {
  bearer_token_param_type: ParamType[];
  bearer_token_cookie_name: string | null;
  password_param_type: ParamType[];
  client_credentials_param_type: ParamType[];
  refresh_token_param_name: string | null;
  refresh_token_param_type: ParamType[];
  id_token_param_name: string | null;
  id_token_param_type: ParamType[];
  proof_of_possession_dpop?: string;
}): ExtractPlan {
  return Object.freeze({
    bearer: Object.freeze([...c.bearer_token_param_type]),
    bearerCookie: c.bearer_token_cookie_name,
    password: Object.freeze([...c.password_param_type]),
    clientCredentials: Object.freeze([...c.client_credentials_param_type]),
    refreshParam: c.refresh_token_param_name,
    refresh: Object.freeze([...c.refresh_token_param_type]),
    idTokenParam: c.id_token_param_name,
    idToken: Object.freeze([...c.id_token_param_type]),
    maxBodyBytes: MAX_BODY_BYTES,
    dpopScheme: c.proof_of_possession_dpop !== undefined && c.proof_of_possession_dpop !== 'off',
  });
}

export interface Found {
  value: string;
  location: Location;
  /** Name of the argument / header / cookie it came from. */
  name: string;
  /** Sent as `Authorization: DPoP …` (RFC 9449 §7.1). */
  dpop?: boolean;
}

/** Reject repeated Authorization headers before anything reads one. */
export function assertSingleAuthorization(ctx: RequestContext): void {
  if (pdk.request.getHeaderValues(ctx, 'authorization').length > 1) {
    throw unauthorized('multiple authorization headers were provided');
  }
}

/** `Authorization: <scheme> <value>` when the scheme matches (case-insensitive, RFC 7235 §2.1). */
function authorizationParam(ctx: RequestContext, scheme: 'bearer' | 'basic' | 'dpop'): string | null {
  const h = pdk.request.getHeader(ctx, 'authorization');
  if (h === undefined) return null;
  const v = h.trim();
  if (v.length <= scheme.length + 1 || v.charCodeAt(scheme.length) !== 32) return null;
  if (v.slice(0, scheme.length).toLowerCase() !== scheme) return null;
  const param = v.slice(scheme.length + 1).trim();
  return param === '' ? null : param;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

function bodyKind(ctx: RequestContext): 'form' | 'json' | null {
  const t = (pdk.request.getHeader(ctx, 'content-type') ?? '').toLowerCase();
  if (t.startsWith(FORM)) return 'form';
  if (t.startsWith(JSON_TYPE)) return 'json';
  return null;
}

/** Largest body read to look for a credential or protocol parameter. */
const MAX_BODY_BYTES = 1024 * 1024;

async function bodyArgs(ctx: RequestContext, plan: ExtractPlan): Promise<Record<string, unknown> | null> {
  return readBodyArgs(ctx, plan.maxBodyBytes);
}

/**
 * Request body arguments (form or JSON), read at most once per request; null
 * when there is none or it is not safe to read.
 */
export async function readBodyArgs(ctx: RequestContext, maxBytes = MAX_BODY_BYTES): Promise<Record<string, unknown> | null> {
  if (bodyKind(ctx) === null) return null;
  if (ctx.requestBody === null) {
    // Only a body of known, bounded length is read: a chunked or large upload keeps streaming
    // untouched (reading part of it would truncate what the upstream receives).
    const cl = pdk.request.getHeader(ctx, 'content-length');
    if (cl === undefined) return null;
    const len = Number(cl);
    if (!Number.isInteger(len) || len > maxBytes) return null;
  }
  try {
    return await pdk.request.getBodyArgs(ctx);
  } catch {
    return null;
  }
}

function stringArg(args: Record<string, unknown> | null, name: string): string | null {
  if (args === null) return null;
  const v = args[name];
  return typeof v === 'string' && v !== '' ? v : null;
}

function queryArg(ctx: RequestContext, name: string): string | null {
  const v = pdk.request.getQueryArg(ctx, name);
  return v === null || v === '' ? null : v;
}

/** The bearer token, searched in Kong's places in the configured order. */
export async function findBearer(ctx: RequestContext, plan: ExtractPlan): Promise<Found | null> {
  for (const type of plan.bearer) {
    if (type === 'header') {
      const b = authorizationParam(ctx, 'bearer');
      if (b !== null) return { value: b, location: 'header', name: 'authorization' };
      if (plan.dpopScheme) {
        const d = authorizationParam(ctx, 'dpop');
        if (d !== null) return { value: d, location: 'header', name: 'authorization', dpop: true };
      }
      const a = pdk.request.getHeader(ctx, 'access_token') ?? pdk.request.getHeader(ctx, 'access-token');
      if (a !== undefined && a !== '') return { value: a, location: 'access_token_header', name: 'access-token' };
      const x = pdk.request.getHeader(ctx, 'x_access_token') ?? pdk.request.getHeader(ctx, 'x-access-token');
      if (x !== undefined && x !== '') return { value: x, location: 'x_access_token_header', name: 'x-access-token' };
    } else if (type === 'cookie') {
      if (plan.bearerCookie !== null) {
        const c = pdk.request.getCookie(ctx, plan.bearerCookie);
        if (c !== null && c !== '') return { value: c, location: 'cookie', name: plan.bearerCookie };
      }
    } else if (type === 'query') {
      const q = queryArg(ctx, 'access_token');
      if (q !== null) return { value: q, location: 'query', name: 'access_token' };
    } else {
      const v = stringArg(await bodyArgs(ctx, plan), 'access_token');
      if (v !== null) return { value: v, location: 'body', name: 'access_token' };
    }
  }
  return null;
}

/** A named parameter (refresh token, id token) in header, query or body, in the configured order. */
export async function findParam(ctx: RequestContext, plan: ExtractPlan, name: string, types: readonly ParamType[]): Promise<Found | null> {
  for (const type of types) {
    if (type === 'header') {
      const lower = name.toLowerCase();
      let v = pdk.request.getHeader(ctx, lower) ?? pdk.request.getHeader(ctx, 'x-' + lower.replace(/_/g, '-'));
      if (v !== undefined && v !== '') {
        // Kong accepts "Bearer <refresh token>" in a header.
        if (/^bearer\s+/i.test(v)) v = v.replace(/^bearer\s+/i, '');
        return { value: v, location: 'header', name: lower };
      }
    } else if (type === 'query') {
      const q = queryArg(ctx, name);
      if (q !== null) return { value: q, location: 'query', name };
    } else if (type === 'body') {
      const v = stringArg(await bodyArgs(ctx, plan), name);
      if (v !== null) return { value: v, location: 'body', name };
    }
  }
  return null;
}

export interface FoundCredentials {
  id: string;
  secret: string;
  location: 'header' | 'query' | 'body';
}

function decodeBasic(param: string): { id: string; secret: string } | null {
  let decoded: string;
  try {
    decoded = Buffer.from(param, 'base64').toString('utf8');
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':', 1);
  if (colon === -1) return null;
  const id = decoded.slice(0, colon);
  const secret = decoded.slice(colon + 1);
  return id !== '' && secret !== '' ? { id, secret } : null;
}

/**
 * Username+password (grant 'password') or client id+secret (grant
 * 'client_credentials'), Kong's `args.get_credentials`: a `Grant-Type`
 * header / `grant_type` argument, when present, must name this grant.
 */
export async function findCredentials(
  ctx: RequestContext,
  plan: ExtractPlan,
  grant: 'password' | 'client_credentials',
): Promise<FoundCredentials | null> {
  const types = grant === 'password' ? plan.password : plan.clientCredentials;
  const [idArg, secretArg] = grant === 'password' ? ['username', 'password'] : ['client_id', 'client_secret'];
  for (const type of types) {
    if (type === 'header') {
      const gt = pdk.request.getHeader(ctx, 'grant-type') ?? pdk.request.getHeader(ctx, 'grant_type');
      if (gt !== undefined && gt !== grant) continue;
      const basic = authorizationParam(ctx, 'basic');
      if (basic === null) continue;
      const d = decodeBasic(basic);
      if (d !== null) return { ...d, location: 'header' };
    } else if (type === 'query') {
      const gt = queryArg(ctx, 'grant_type');
      if (gt !== null && gt !== grant) continue;
      const id = queryArg(ctx, idArg!);
      const secret = queryArg(ctx, secretArg!);
      if (id !== null && secret !== null) return { id, secret, location: 'query' };
    } else if (type === 'body') {
      const args = await bodyArgs(ctx, plan);
      const gt = stringArg(args, 'grant_type');
      if (gt !== null && gt !== grant) continue;
      const id = stringArg(args, idArg!);
      const secret = stringArg(args, secretArg!);
      if (id !== null && secret !== null) return { id, secret, location: 'body' };
    }
  }
  return null;
}

// ------------------------------------------------------------------ hide_credentials

/** Remove query arguments by name from the upstream query, keeping every other byte as sent. */
export function removeQueryArgs(ctx: RequestContext, names: readonly string[]): void {
  const q = ctx.upstreamQuery;
  if (q === '') return;
  const kept: string[] = [];
  for (const part of q.split('&')) {
    const eq = part.indexOf('=');
    const rawName = eq === -1 ? part : part.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      name = rawName;
    }
    if (!names.includes(name)) kept.push(part);
  }
  pdk.serviceRequest.setRawQuery(ctx, kept.join('&'));
}

/** Remove arguments from a buffered form or JSON body before it goes upstream. */
export function removeBodyArgs(ctx: RequestContext, names: readonly string[]): void {
  const kind = bodyKind(ctx);
  const body = ctx.upstreamBody ?? ctx.requestBody;
  if (kind === null || body === null) return;
  if (kind === 'form') {
    const kept = body
      .toString('utf8')
      .split('&')
      .filter((part) => {
        const eq = part.indexOf('=');
        const raw = eq === -1 ? part : part.slice(0, eq);
        let name: string;
        try {
          name = decodeURIComponent(raw.replace(/\+/g, ' '));
        } catch {
          name = raw;
        }
        return !names.includes(name);
      });
    pdk.serviceRequest.setBody(ctx, kept.join('&'));
  } else {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      for (const n of names) delete parsed[n];
      pdk.serviceRequest.setBody(ctx, JSON.stringify(parsed));
    } catch {
      // not JSON after all: nothing was read from it either
    }
  }
}

/** Remove cookies by name from the upstream Cookie header. */
export function removeCookies(ctx: RequestContext, names: (name: string) => boolean): void {
  const cur = ctx.upstreamHeaders.cookie;
  if (cur === undefined) return;
  const joined = Array.isArray(cur) ? cur.join('; ') : cur;
  const kept = joined
    .split(';')
    .map((s) => s.trim())
    .filter((pair) => {
      if (pair === '') return false;
      const eq = pair.indexOf('=');
      const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
      return !names(name);
    });
  if (kept.length === 0) pdk.serviceRequest.clearHeader(ctx, 'cookie');
  else pdk.serviceRequest.setHeader(ctx, 'cookie', kept.join('; '));
}

/** hide_credentials for a bearer token / parameter found by this module. */
export function hideFound(ctx: RequestContext, found: Found): void {
  switch (found.location) {
    case 'header':
      pdk.serviceRequest.clearHeader(ctx, found.name);
      break;
    case 'access_token_header':
      pdk.serviceRequest.clearHeader(ctx, 'access-token');
      pdk.serviceRequest.clearHeader(ctx, 'access_token');
      break;
    case 'x_access_token_header':
      pdk.serviceRequest.clearHeader(ctx, 'x-access-token');
      pdk.serviceRequest.clearHeader(ctx, 'x_access_token');
      break;
    case 'cookie':
      removeCookies(ctx, (n) => n === found.name);
      break;
    case 'query':
      removeQueryArgs(ctx, [found.name]);
      break;
    case 'body':
      removeBodyArgs(ctx, [found.name]);
      break;
  }
}

/** hide_credentials for password / client credentials (Kong also removes Grant-Type and grant_type). */
export function hideCredentials(ctx: RequestContext, found: FoundCredentials, grant: 'password' | 'client_credentials'): void {
  const names = grant === 'password' ? ['username', 'password', 'grant_type'] : ['client_id', 'client_secret', 'grant_type'];
  if (found.location === 'header') {
    pdk.serviceRequest.clearHeader(ctx, 'authorization');
    pdk.serviceRequest.clearHeader(ctx, 'grant-type');
    pdk.serviceRequest.clearHeader(ctx, 'grant_type');
  } else if (found.location === 'query') removeQueryArgs(ctx, names);
  else removeBodyArgs(ctx, names);
}
