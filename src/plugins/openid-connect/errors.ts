/**
 * How the plugin says no — exactly as Kong's openid-connect does:
 *
 * - 401 `{"message":"Unauthorized"}` with
 *   `WWW-Authenticate: Bearer realm="<issuer host>", error="invalid_token"`
 *   (+ `error_description="The access token expired"` when it did), RFC 6750 §3;
 * - 403 `{"message":"Forbidden"}` with `error="insufficient_scope"`;
 * - IdP-side failures: 500 `{"message":"An unexpected error occurred"}`
 *   (the reason only in the log).
 *
 * `unauthorized_error_message` / `forbidden_error_message` replace the
 * message, `display_errors` appends the reason ("Forbidden (required scopes
 * were not found [ openid, profile ])"), `expose_error_code: false` drops the
 * `error=` parameters, `*_redirect_uri` turn the answer into a 302.
 * The reason is logged at `notice` with Kong's wording; it never contains a
 * token (reasons are built from claim values and fixed texts only).
 */
import type { Logger } from 'pino';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';

/** Kong's TOKEN_EXPIRED_MESSAGE (RFC 6750 error_description). */
export const TOKEN_EXPIRED_DESCRIPTION = 'The access token expired';

/** A decision against the request: 401 (who are you?) or 403 (not you). */
export class Rejection extends Error {
  readonly status: 401 | 403;
  /** Kong's log wording; shown to the client only with display_errors. */
  readonly reason: string;
  /** RFC 6750 error_description, when Kong sends one. */
  readonly description: string | null;
  /** The answer in the gateway's error vocabulary (src/core/errors.ts). */
  readonly code: 'UNAUTHORIZED' | 'FORBIDDEN';
  /** A whole WWW-Authenticate value replacing the Bearer challenge (DPoP, RFC 9449 §7.1), and extra headers (DPoP-Nonce). */
  readonly challenge: { scheme: string; error: string; params: string; headers: Record<string, string> | null } | null;
  constructor(status: 401 | 403, reason: string, description: string | null = null, challenge: Rejection['challenge'] = null) {
    super(reason);
    this.name = 'Rejection';
    this.status = status;
    this.code = status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN';
    this.reason = reason;
    this.description = description;
    this.challenge = challenge;
  }
}

export function unauthorized(reason: string, description: string | null = null): Rejection {
  return new Rejection(401, reason, description);
}

export function forbidden(reason: string): Rejection {
  return new Rejection(403, reason);
}

/**
 * Something on our side prevents a decision (anonymous consumer missing,
 * session cookie cannot be written): Kong's `unexpected()`, a 500.
 */
export class Unexpected extends Error {
  readonly code = 'OIDC_UNEXPECTED';
  constructor(message: string) {
    super(message);
    this.name = 'Unexpected';
  }
}

export interface ErrorPolicy {
  readonly unauthorizedMessage: string;
  readonly forbiddenMessage: string;
  readonly displayErrors: boolean;
  readonly exposeErrorCode: boolean;
  readonly unauthorizedDestroySession: boolean;
  readonly forbiddenDestroySession: boolean;
}

export function compileErrorPolicy(c: {
  unauthorized_error_message: string;
  forbidden_error_message: string;
  display_errors: boolean;
  expose_error_code: boolean;
  unauthorized_destroy_session: boolean;
  forbidden_destroy_session: boolean;
}): ErrorPolicy {
  return Object.freeze({
    unauthorizedMessage: c.unauthorized_error_message,
    forbiddenMessage: c.forbidden_error_message,
    displayErrors: c.display_errors,
    exposeErrorCode: c.expose_error_code,
    unauthorizedDestroySession: c.unauthorized_destroy_session,
    forbiddenDestroySession: c.forbidden_destroy_session,
  });
}

/** RFC 6750 §3 challenge, built as Kong's error_codes module builds it. */
export function wwwAuthenticate(realm: string, status: 401 | 403, exposeErrorCode: boolean, description: string | null): string {
  let v = `Bearer realm="${realm}"`;
  if (exposeErrorCode) {
    v += status === 401 ? ', error="invalid_token"' : ', error="insufficient_scope"';
    if (description !== null) v += `, error_description="${description}"`;
  }
  return v;
}

/** The realm Kong puts in the challenge: the issuer's host ("kong" when it has none). */
export function realmOf(issuer: string): string {
  // Asked on every request for the same few issuers: the URL is parsed once.
  if (issuer === lastIssuer) return lastRealm;
  let realm: string;
  try {
    realm = new URL(issuer).hostname || 'kong';
  } catch {
    realm = 'kong';
  }
  lastIssuer = issuer;
  lastRealm = realm;
  return realm;
}

let lastIssuer: string | null = null;
let lastRealm = 'kong';

const NO_CACHE = { 'cache-control': 'no-cache, no-store', pragma: 'no-cache' } as const;

/** Answer a Rejection: 302 to the configured redirect, else 401/403 with Kong's body and challenge. */
export function sendRejection(ctx: RequestContext, policy: ErrorPolicy, realm: string, r: Rejection, redirectUri: string | null): void {
  if (redirectUri !== null) {
    redirect(ctx, redirectUri);
    return;
  }
  let message = r.status === 401 ? policy.unauthorizedMessage : policy.forbiddenMessage;
  if (policy.displayErrors) message = `${message} (${r.reason})`;
  const c = r.challenge;
  const challenge = c === null
    ? wwwAuthenticate(realm, r.status, policy.exposeErrorCode, r.description)
    : `${c.scheme} realm="${realm}"${policy.exposeErrorCode ? `, error="${c.error}"${r.description !== null ? `, error_description="${r.description}"` : ''}` : ''}${c.params}`;
  pdk.response.exit(ctx, r.status, { message }, { 'www-authenticate': challenge, ...c?.headers });
}

/** Kong's unexpected(): 500 "An unexpected error occurred" (+ reason with display_errors), or the redirect. */
export function sendUnexpected(ctx: RequestContext, policy: ErrorPolicy, reason: string, redirectUri: string | null): void {
  if (redirectUri !== null) {
    redirect(ctx, redirectUri);
    return;
  }
  let message = 'An unexpected error occurred';
  if (policy.displayErrors && reason !== '') message = `${message} (${reason})`;
  pdk.response.exit(ctx, 500, { message });
}

/** 302 to `location`, not cacheable (Kong's redirect helper plus its no_cache headers). */
export function redirect(ctx: RequestContext, location: string): void {
  pdk.response.exit(ctx, 302, null, { location, ...NO_CACHE });
}

/** Add Kong's no-cache headers to the client's response. */
export function noCache(ctx: RequestContext): void {
  pdk.response.setHeader(ctx, 'cache-control', NO_CACHE['cache-control']);
  pdk.response.setHeader(ctx, 'pragma', NO_CACHE.pragma);
}

/** Log a decision at `notice` (Kong's level for these), prefixed as Kong prefixes its plugin logs. */
export function logNotice(log: Logger, reason: string, fields?: Record<string, unknown>): void {
  const l = log as Logger & { notice?: (obj: object, msg: string) => void };
  const line = `[openid-connect] ${reason}`;
  if (typeof l.notice === 'function') l.notice(fields ?? {}, line);
  else l.info(fields ?? {}, line);
}
