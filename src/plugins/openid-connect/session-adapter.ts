/**
 * The SessionPort over the session layer in ./session/ (lua-resty-session 4
 * semantics, chunked AES-256-GCM cookies): Kong's session data
 * `{ client, tokens, expires }` plus the `session_audience` it was issued
 * for (a cookie from another audience is not this plugin's session), and the
 * `authorization` cookie with Kong's `authorization_cookie_*` options.
 *
 * `session_secret` unset: the gateway-wide secret is used (shared by every
 * worker); when that one was generated at start, a warning says once that
 * several nodes need a configured secret.
 * Cookie `Secure`: `session_cookie_secure` / `authorization_cookie_secure`,
 * or — when unset, as Kong — whether the request came over https (trusted
 * X-Forwarded-Proto included).
 */
import type { RequestContext } from '../../core/context.ts';
import type { IpMatcher } from '../../shared/ip.ts';
import type { CompileEnv } from '../types.ts';
import { isHttps } from './request-url.ts';
import type { OidcConfig } from './schema.ts';
import type { AuthorizationState, SessionData, SessionHandle, SessionPort, StoredTokens } from './session-port.ts';
import {
  createSessionManager,
  expireCookie,
  openAuthorizationState,
  parseCookieHeader,
  sealAuthorizationState,
  serializeCookie,
  sessionOptionsFromKong,
  stripCookieHeader,
  type CookieAttributes,
  type SameSite,
  type Session,
} from './session/index.ts';

interface Handle extends SessionHandle {
  readonly session: Session | null;
}

let warnedGeneratedSecret = false;

function cookieHeader(ctx: RequestContext): string | undefined {
  const h = ctx.req.headers.cookie;
  return Array.isArray(h) ? h.join('; ') : h;
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

function asTokens(v: unknown): StoredTokens | null {
  if (v === null || typeof v !== 'object') return null;
  const t = v as Record<string, unknown>;
  if (typeof t.access_token !== 'string' || t.access_token === '') return null;
  const out: StoredTokens = { access_token: t.access_token };
  if (typeof t.id_token === 'string') out.id_token = t.id_token;
  if (typeof t.refresh_token === 'string') out.refresh_token = t.refresh_token;
  if (typeof t.token_type === 'string') out.token_type = t.token_type;
  if (typeof t.expires_in === 'number') out.expires_in = t.expires_in;
  if (typeof t.scope === 'string') out.scope = t.scope;
  return out;
}

const ABSENT: Handle = Object.freeze({ present: false, data: null, id: null, error: null, session: null });

export function createSessionPort(c: OidcConfig, env: CompileEnv, trusted: IpMatcher): SessionPort {
  if (c.session_secret === null && env.settings.sessionSecretGenerated && !warnedGeneratedSecret) {
    warnedGeneratedSecret = true;
    env.log.warn('[openid-connect] session_secret is not set and the gateway secret was generated at start: sessions will not survive a restart and other nodes cannot read them; set session_secret (or the gateway session secret) for more than one node');
  }
  const options = sessionOptionsFromKong(c as unknown as Record<string, unknown>, env.settings.sessionSecret);
  const manager = createSessionManager(options);
  const secret = options.secret;
  const audience = c.session_audience;

  const authName = c.authorization_cookie_name;
  const authTtl = c.authorization_rolling_timeout;
  const authAttrs = (ctx: RequestContext): CookieAttributes => ({
    path: c.authorization_cookie_path,
    domain: c.authorization_cookie_domain ?? undefined,
    sameSite: c.authorization_cookie_same_site as SameSite,
    httpOnly: c.authorization_cookie_http_only,
    secure: c.authorization_cookie_secure ?? isHttps(ctx, trusted),
  });
  const stripNames = [c.session_cookie_name, ...(c.session_remember ? [c.session_remember_cookie_name] : []), authName];
  const secure = (ctx: RequestContext): boolean => c.session_cookie_secure ?? isHttps(ctx, trusted);

  // The session layer hands back the same frozen data object while the cookie is unchanged
  // (session/crypto.ts openPayload): its SessionData is built once, frozen, and shared.
  const built = new WeakMap<object, SessionData | null>();
  const dataOf = (d: Record<string, unknown>): SessionData | null => {
    let data = built.get(d);
    if (data !== undefined) return data;
    const tokens = asTokens(d.tokens);
    data = tokens === null || d.aud !== audience
      ? null
      : Object.freeze({
        client: typeof d.client === 'number' ? d.client : 1,
        tokens: Object.freeze(tokens),
        expires: typeof d.expires === 'number' ? d.expires : 0,
      });
    if (Object.isFrozen(d)) built.set(d, data);
    return data;
  };

  return {
    async open(ctx) {
      const s = await manager.open(cookieHeader(ctx), nowSec());
      if (s === null) return ABSENT;
      const data = dataOf(s.data);
      if (data === null) return { ...ABSENT, error: 'session is not from this audience or has no tokens' };
      return { present: true, data, id: s.id, error: null, session: s } satisfies Handle;
    },

    async save(ctx, handle, data, subject) {
      const previous = (handle as Handle).session ?? null;
      const payload: Record<string, unknown> = { client: data.client, tokens: data.tokens, expires: data.expires, aud: audience };
      if (subject !== null) payload.sub = subject;
      const cookies = await manager.save(previous, payload, nowSec(), secure(ctx));
      // The new session id is the first cookie's header; expose the cookie-derived id only via a re-open.
      return { handle: { present: true, data, id: previous?.id ?? null, error: null, session: previous } satisfies Handle, cookies };
    },

    async touch(ctx, handle) {
      const s = (handle as Handle).session;
      if (s === null) return [];
      return manager.refresh(s, nowSec(), secure(ctx));
    },

    async destroy(ctx, handle) {
      const s = handle === null ? null : (handle as Handle).session;
      return manager.destroy(s, cookieHeader(ctx), secure(ctx));
    },

    stripCookies(ctx) {
      const cur = ctx.upstreamHeaders.cookie;
      if (cur === undefined) return;
      const stripped = stripCookieHeader(Array.isArray(cur) ? cur.join('; ') : cur, stripNames);
      ctx.upstreamHeaders.cookie = stripped;
    },

    async openAuthorization(ctx) {
      const value = parseCookieHeader(cookieHeader(ctx)).get(authName);
      const st = openAuthorizationState<AuthorizationState & Record<string, unknown>>(value, secret);
      if (st === null || typeof st.state !== 'string' || typeof st.nonce !== 'string' || typeof st.redirect_uri !== 'string') return null;
      return {
        state: st.state,
        nonce: st.nonce,
        code_verifier: typeof st.code_verifier === 'string' ? st.code_verifier : null,
        client: typeof st.client === 'number' ? st.client : 1,
        redirect_uri: st.redirect_uri,
        uri: typeof st.uri === 'string' ? st.uri : st.redirect_uri,
        uri_args: typeof st.uri_args === 'string' ? st.uri_args : null,
        args: st.args !== null && typeof st.args === 'object' ? (st.args as Record<string, string>) : null,
      };
    },

    async saveAuthorization(ctx, state) {
      const value = sealAuthorizationState(state as unknown as Record<string, unknown>, secret, authTtl > 0 ? authTtl : 600);
      return [serializeCookie(authName, value, authAttrs(ctx))];
    },

    clearAuthorization(ctx) {
      return [expireCookie(authName, authAttrs(ctx))];
    },

    close() {
      return manager.close();
    },
  };
}
