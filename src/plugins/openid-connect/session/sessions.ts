/**
 * The gateway session of one openid-connect configuration: ONE class that
 * owns the encrypted session cookie (lua-resty-session 4 semantics, Kong's
 * session library since 3.2), its optional server-side store, Kong's session
 * data `{ client, tokens, expires, x5t? }` for one `session_audience`, and the
 * short-lived `authorization` cookie of the code flow.
 *
 * Request level (what the access phase calls, in Kong's handler order):
 *
 *   const sessions = OidcSessions.fromConfig(config, env, trusted);  // once per compiled config
 *   const handle = await sessions.open(ctx);            // { present, data, id, error }
 *   cookies.push(...(await sessions.save(ctx, handle, data, subject)).cookies);  // after login / refresh
 *   cookies.push(...await sessions.touch(ctx, handle)); // unchanged session: idle touch / rolling re-save
 *   cookies.push(...await sessions.destroy(ctx, handle));
 *   sessions.stripCookies(ctx);                         // never forward them upstream
 *   await sessions.close();                             // when the config is retired
 *
 * Cookie level (the same engine without a request, for tests and tools):
 * `read`/`inspect` a Cookie header, `write` data, `refresh`, `erase`.
 *
 * Lifecycle (lua-resty-session 4 semantics):
 * - Each write draws a new session id; `createdAt` is kept, so the absolute
 *   timeout counts from the first login. The rolling offset becomes
 *   `now - createdAt` and the idling offset 0.
 * - Opening refuses a session whose absolute (`now - createdAt`), rolling
 *   (time since last save) or idling (time since last save or touch) age
 *   exceeds its timeout; 0 disables a timeout.
 * - `refresh` re-saves when 3/4 of the rolling timeout is spent, otherwise
 *   "touches" (re-sends the cookie with a new idling offset, data untouched)
 *   when more than `touchThreshold` (60 s) passed since the last save/touch.
 * - With `remember`, a persistent cookie (no idling timeout, its own rolling
 *   and absolute timeouts) restores the session when the session cookie is
 *   gone; the restored session has `remembered: true` and `refresh` saves it.
 *
 * `session_secret` unset: the gateway-wide secret is used (shared by every
 * worker); when that one was generated at start, a warning says once that
 * several nodes need a configured secret. Cookie `Secure`:
 * `session_cookie_secure` / `authorization_cookie_secure`, or — when unset,
 * as Kong — whether the request came over https (trusted X-Forwarded-Proto
 * included).
 *
 * Failure model: opening resolves "no session" for anything missing,
 * tampered, sealed with an unknown secret, truncated or expired — it never
 * throws for client input. A server-side store that cannot be reached
 * rejects with SessionStoreError (a 5xx for the caller, not "no session").
 * Writing throws SessionTooLargeError when the data does not fit in 9
 * cookies (~35 KB).
 */
import type { RequestContext } from '../../../core/context.ts';
import type { IpMatcher } from '../../../shared/ip.ts';
import type { CompileEnv } from '../../types.ts';
import { isHttps } from '../request-url.ts';
import type { OidcConfig } from '../schema.ts';
import { openAuthorizationState, sealAuthorizationState } from './authorization-state.ts';
import { FLAG_REMEMBER, FLAG_STORAGE, HEADER_ENCODED_SIZE, ikmOf, openHeader, openPayload, seal, storageKey, touchHeader, type Header } from './crypto.ts';
import { chunkCount, chunkName, expireCookie, parseCookieHeader, serializeCookie, splitChunks, stripCookieHeader, MAX_COOKIES, type CookieAttributes, type SameSite } from './cookies.ts';
import { resolveSessionOptions, sessionOptionsFromKong, type ResolvedSessionOptions, type SessionOptions } from './options.ts';
import { RedisSessionStore, sharedMemoryStore, type SessionStore } from './store.ts';
import type { LogoutRegistry } from './logouts.ts';
import type { AuthorizationState, SessionData, StoredTokens } from './types.ts';

/** Whatever JSON object a cookie carries (the cookie level does not interpret it). */
export type RawSessionData = Record<string, unknown>;

/** A session cookie opened at the cookie level. */
export interface Session {
  /** Session id, base64url (changes on every save; Kong's `Session-Id`). */
  readonly id: string;
  readonly data: RawSessionData;
  /** Epoch seconds of the first save (login). */
  readonly createdAt: number;
  /** Restored from the remember cookie: the caller should `refresh` (which saves). */
  readonly remembered: boolean;
  /** Seconds left at open time before each timeout (undefined when disabled); `timeout` is the nearest. */
  readonly timeouts: { idling?: number; rolling?: number; absolute?: number; timeout?: number };
}

/** The gateway session of one request, as the access phase sees it. */
export interface SessionHandle {
  /** A valid session cookie came with the request. */
  readonly present: boolean;
  readonly data: SessionData | null;
  /** Session id (for `*_session_id_header`), when the store has one. */
  readonly id: string | null;
  /** Why an offered cookie was not accepted (expired, tampered …), for the debug log. */
  readonly error: string | null;
  /** The opened cookie (null when none). */
  readonly session: Session | null;
}

export class SessionTooLargeError extends Error {
  readonly code = 'SESSION_TOO_LARGE';
  constructor(size: number) {
    super(`session data too large for ${MAX_COOKIES} cookies (${size} characters)`);
    this.name = 'SessionTooLargeError';
  }
}

/** The request-level settings beyond the cookie engine (Kong's `authorization_cookie_*`, `session_audience`). */
export interface SessionBinding {
  audience: string;
  authorization: {
    name: string;
    /** Seconds (authorization_rolling_timeout; 0 → 600). */
    ttl: number;
    path: string;
    domain: string | undefined;
    sameSite: SameSite;
    httpOnly: boolean;
    secure: boolean | undefined;
  };
  /** Who may set X-Forwarded-Proto (the Secure attribute follows the request's scheme). */
  trusted: IpMatcher | null;
  /** Back-channel logout: sessions ended at the IdP (by `sid` / `sub` of `issuer`) are refused. */
  logouts?: { registry: LogoutRegistry; issuer: string } | null;
}

/** Who the IdP says the session belongs to (ID token `sid` and `sub`), for back-channel logout. */
export interface IdpIdentity {
  sid: string | null;
  sub: string | null;
}

const DEFAULT_BINDING: SessionBinding = {
  audience: 'default',
  authorization: { name: 'authorization', ttl: 600, path: '/', domain: undefined, sameSite: 'Default', httpOnly: true, secure: undefined },
  trusted: null,
};

/** What the class remembers about a cookie it opened or wrote (kept off the public object). */
interface CookieMeta {
  header: Header;
  ikm: Buffer;
  /** Number of cookies used (1 with server-side storage). */
  chunks: number;
  /** Payload part carried by the first cookie (stateless), re-sent on touch. */
  initialChunk: string;
  /** Store key (server-side storage). */
  key: string | undefined;
}

interface SessionMeta {
  main: CookieMeta | null;
  remember: CookieMeta | null;
}

interface Opened {
  data: RawSessionData;
  meta: CookieMeta;
  timeouts: Session['timeouts'];
}

interface Limits {
  idling: number;
  rolling: number;
  absolute: number;
}

/** Redis' longest TTL we ever ask for (a year), when timeouts are disabled. */
const MAX_TTL = 31_536_000;

const ABSENT: SessionHandle = Object.freeze({ present: false, data: null, id: null, error: null, session: null });

let warnedGeneratedSecret = false;

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

function cookieHeaderOf(ctx: RequestContext): string | undefined {
  const h = ctx.req.headers.cookie;
  return Array.isArray(h) ? h.join('; ') : h;
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

export class OidcSessions {
  readonly options: ResolvedSessionOptions;
  /** False for configurations without `session` / `authorization_code`: every call is a no-op. */
  readonly enabled: boolean;
  readonly #binding: SessionBinding;
  readonly #ikms: Buffer[];
  readonly #currentIkm: Buffer;
  readonly #serverSide: boolean;
  readonly #store: SessionStore | null;
  readonly #stripNames: readonly string[];
  readonly #mainLimits: Limits;
  readonly #rememberLimits: Limits;
  /** Per opened session: the cookies behind it. */
  readonly #meta = new WeakMap<Session, SessionMeta>();
  /** The same frozen raw data object while a cookie is unchanged (crypto.ts openPayload) → the same SessionData. */
  readonly #built = new WeakMap<object, SessionData | null>();

  /** A configuration's sessions (Kong's names), or a disabled instance when it uses none. */
  static fromConfig(c: OidcConfig, env: CompileEnv, trusted: IpMatcher, enabled = true, logouts: SessionBinding['logouts'] = null): OidcSessions {
    if (!enabled) return OidcSessions.disabled();
    if (c.session_secret === null && env.settings.sessionSecretGenerated && !warnedGeneratedSecret) {
      warnedGeneratedSecret = true;
      env.log.warn('[openid-connect] session_secret is not set and the gateway secret was generated at start: sessions will not survive a restart and other nodes cannot read them; set session_secret (or the gateway session secret) for more than one node');
    }
    const options = sessionOptionsFromKong(c as unknown as Record<string, unknown>, env.settings.sessionSecret);
    return new OidcSessions(options, {
      audience: c.session_audience,
      authorization: {
        name: c.authorization_cookie_name,
        ttl: c.authorization_rolling_timeout > 0 ? c.authorization_rolling_timeout : 600,
        path: c.authorization_cookie_path,
        domain: c.authorization_cookie_domain ?? undefined,
        sameSite: c.authorization_cookie_same_site as SameSite,
        httpOnly: c.authorization_cookie_http_only,
        secure: c.authorization_cookie_secure ?? undefined,
      },
      trusted,
      logouts,
    });
  }

  /** Sessions for a configuration that has none (auth_methods without `session` and `authorization_code`). */
  static disabled(): OidcSessions {
    return new OidcSessions({ secret: 'disabled', storage: 'cookie' }, DEFAULT_BINDING, false);
  }

  constructor(input: SessionOptions, binding: SessionBinding = DEFAULT_BINDING, enabled = true) {
    const o = resolveSessionOptions(input);
    this.options = o;
    this.enabled = enabled;
    this.#binding = binding;
    this.#ikms = [o.secret, ...o.secretFallbacks].map(ikmOf);
    this.#currentIkm = this.#ikms[0] as Buffer;
    this.#serverSide = o.storage !== 'cookie';
    this.#store = !this.#serverSide || !enabled
      ? null
      : o.store ?? (o.storage === 'memory' ? sharedMemoryStore() : new RedisSessionStore(o.redis, 'session'));
    const names = o.remember ? [o.cookieName, o.rememberCookieName] : [o.cookieName];
    this.#stripNames = enabled ? [...names, binding.authorization.name] : [];
    this.#mainLimits = { idling: o.idlingTimeout, rolling: o.rollingTimeout, absolute: o.absoluteTimeout };
    this.#rememberLimits = { idling: 0, rolling: o.rememberRollingTimeout, absolute: o.rememberAbsoluteTimeout };
  }

  // ---------------------------------------------------------------- request level

  /** Open the gateway session from the request's cookie(s). */
  async open(ctx: RequestContext): Promise<SessionHandle> {
    if (!this.enabled) return ABSENT;
    const s = await this.read(cookieHeaderOf(ctx), nowSec());
    if (s === null) return ABSENT;
    const data = this.#dataOf(s.data);
    if (data === null) return { ...ABSENT, error: 'session is not from this audience or has no tokens' };
    const l = this.#binding.logouts;
    if (l != null) {
      const sid = typeof s.data.sid === 'string' ? s.data.sid : null;
      const sub = typeof s.data.isub === 'string' ? s.data.isub : null;
      if (l.registry.ended(l.issuer, sid, sub, s.createdAt)) return { ...ABSENT, error: 'session was ended by a back-channel logout' };
    }
    return { present: true, data, id: s.id, error: null, session: s };
  }

  /** Write `data` as the session (a new session id every time, lua-resty-session 4). */
  async save(ctx: RequestContext, handle: SessionHandle, data: SessionData, subject: string | null, idp: IdpIdentity | null = null): Promise<{ handle: SessionHandle; cookies: string[] }> {
    if (!this.enabled) return { handle, cookies: [] };
    const previous = handle.session;
    const payload: RawSessionData = { client: data.client, tokens: data.tokens, expires: data.expires, aud: this.#binding.audience };
    if (subject !== null) payload.sub = subject;
    if (data.x5t !== undefined) payload.x5t = data.x5t;
    // Kept for back-channel logout (the IdP names sessions by these); carried over on a re-save.
    const sid = idp?.sid ?? (typeof previous?.data.sid === 'string' ? previous.data.sid : null);
    const isub = idp?.sub ?? (typeof previous?.data.isub === 'string' ? previous.data.isub : null);
    if (sid !== null) payload.sid = sid;
    if (isub !== null) payload.isub = isub;
    const cookies = await this.write(previous, payload, nowSec(), this.#secure(ctx));
    // The new session id is in the cookie; it is exposed by the next open.
    return { handle: { present: true, data, id: previous?.id ?? null, error: null, session: previous }, cookies };
  }

  /** Extend an unchanged session (idling timeout touch, or rolling re-save when due). */
  async touch(ctx: RequestContext, handle: SessionHandle): Promise<string[]> {
    if (!this.enabled || handle.session === null) return [];
    return this.refresh(handle.session, nowSec(), this.#secure(ctx));
  }

  /** Remove the session (and its cookies) whatever its state. */
  async destroy(ctx: RequestContext, handle: SessionHandle | null): Promise<string[]> {
    if (!this.enabled) return [];
    return this.erase(handle?.session ?? null, cookieHeaderOf(ctx), this.#secure(ctx));
  }

  /** Never let the session or authorization cookies reach the upstream. */
  stripCookies(ctx: RequestContext): void {
    if (!this.enabled) return;
    const cur = ctx.upstreamHeaders.cookie;
    if (cur === undefined) return;
    ctx.upstreamHeaders.cookie = stripCookieHeader(Array.isArray(cur) ? cur.join('; ') : cur, this.#stripNames);
  }

  /** Read the authorization cookie, or null when absent / expired / not ours. */
  async openAuthorization(ctx: RequestContext): Promise<AuthorizationState | null> {
    if (!this.enabled) return null;
    const value = parseCookieHeader(cookieHeaderOf(ctx)).get(this.#binding.authorization.name);
    const st = openAuthorizationState<AuthorizationState & Record<string, unknown>>(value, this.options.secret);
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
  }

  /** Write the authorization cookie (lifetime authorization_rolling_timeout). */
  async saveAuthorization(ctx: RequestContext, state: AuthorizationState): Promise<string[]> {
    if (!this.enabled) return [];
    const a = this.#binding.authorization;
    const value = sealAuthorizationState(state as unknown as Record<string, unknown>, this.options.secret, a.ttl);
    return [serializeCookie(a.name, value, this.#authorizationAttrs(ctx))];
  }

  /** Delete the authorization cookie. */
  clearAuthorization(ctx: RequestContext): string[] {
    if (!this.enabled) return [];
    return [expireCookie(this.#binding.authorization.name, this.#authorizationAttrs(ctx))];
  }

  /** How long a logout record must be kept to outlive every session it could end (seconds). */
  logoutTtl(): number {
    const o = this.options;
    const bounds = [o.absoluteTimeout, o.remember ? o.rememberAbsoluteTimeout : 0];
    if (bounds.every((b) => b === 0) || (o.remember && o.rememberAbsoluteTimeout === 0)) return MAX_TTL;
    return Math.min(MAX_TTL, Math.max(...bounds));
  }

  /** Release connections (server-side storage) when the config is retired. */
  async close(): Promise<void> {
    // The shared memory store outlives configurations; Redis clients are ref-counted.
    const o = this.options;
    if (this.#store !== null && o.store === undefined && o.storage === 'redis') await this.#store.close();
    await this.#binding.logouts?.registry.close();
  }

  #secure(ctx: RequestContext): boolean {
    const t = this.#binding.trusted;
    return this.options.cookieSecure ?? (t === null ? ctx.scheme === 'https' : isHttps(ctx, t));
  }

  #authorizationAttrs(ctx: RequestContext): CookieAttributes {
    const a = this.#binding.authorization;
    const t = this.#binding.trusted;
    return {
      path: a.path,
      domain: a.domain,
      sameSite: a.sameSite,
      httpOnly: a.httpOnly,
      secure: a.secure ?? (t === null ? ctx.scheme === 'https' : isHttps(ctx, t)),
    };
  }

  #dataOf(d: RawSessionData): SessionData | null {
    let data = this.#built.get(d);
    if (data !== undefined) return data;
    const tokens = asTokens(d.tokens);
    data = tokens === null || d.aud !== this.#binding.audience
      ? null
      : Object.freeze({
        client: typeof d.client === 'number' ? d.client : 1,
        tokens: Object.freeze(tokens),
        expires: typeof d.expires === 'number' ? d.expires : 0,
        // The certificate binding of the token that granted the session (proof_of_possession_mtls).
        ...(typeof d.x5t === 'string' ? { x5t: d.x5t } : {}),
      });
    if (Object.isFrozen(d)) this.#built.set(d, data);
    return data;
  }

  // ---------------------------------------------------------------- cookie level

  /** The session a Cookie header carries, or null (`now` in epoch seconds). */
  async read(cookieHeader: string | undefined, now: number): Promise<Session | null> {
    return (await this.inspect(cookieHeader, now)).session;
  }

  /** Like read, plus why no session was found (lua-resty-session's wording, for debug logs; never secrets). */
  async inspect(cookieHeader: string | undefined, now: number): Promise<{ session: Session | null; reason: string | null }> {
    const o = this.options;
    const cookies = parseCookieHeader(cookieHeader);
    const main = await this.#openOne(cookies, o.cookieName, false, now);
    let remember: Opened | string | null = null;
    if (o.remember && cookies.has(o.rememberCookieName)) remember = await this.#openOne(cookies, o.rememberCookieName, true, now);
    const rememberOk = remember !== null && typeof remember !== 'string' ? remember : null;
    if (typeof main !== 'string') {
      return { session: this.#makeSession(main.data, main.meta.header, false, main.timeouts, { main: main.meta, remember: rememberOk?.meta ?? null }), reason: null };
    }
    if (rememberOk !== null) {
      return { session: this.#makeSession(rememberOk.data, rememberOk.meta.header, true, rememberOk.timeouts, { main: null, remember: rememberOk.meta }), reason: null };
    }
    return { session: null, reason: main };
  }

  /** Seal `data` as the session (replacing `session` when given); the Set-Cookie values to send. */
  async write(session: Session | null, data: RawSessionData, now: number, secure: boolean): Promise<string[]> {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new TypeError('session data must be an object');
    const o = this.options;
    const prev = session === null ? undefined : this.#meta.get(session);
    // A session restored from the remember cookie starts a fresh session cookie.
    const creation = session === null || session.remembered ? now : session.createdAt;
    const main = await this.#writeOne(o.cookieName, false, prev?.main ?? null, creation, data, now, secure);
    const cookies = main.cookies;
    let rememberMeta: CookieMeta | null = prev?.remember ?? null;
    if (o.remember) {
      const rememberCreation = rememberMeta?.header.creationTime ?? now;
      const r = await this.#writeOne(o.rememberCookieName, true, rememberMeta, rememberCreation, data, now, secure);
      cookies.push(...r.cookies);
      rememberMeta = r.meta;
    }
    if (session !== null) this.#meta.set(session, { main: main.meta, remember: rememberMeta });
    return cookies;
  }

  /** Touch or roll an opened session when due; the Set-Cookie values to send (often none). */
  async refresh(session: Session, now: number, secure: boolean): Promise<string[]> {
    const o = this.options;
    const meta = this.#meta.get(session);
    if (meta === undefined) throw new TypeError('not a session opened by these sessions');
    if (session.remembered || meta.main === null) return this.write(session, session.data, now, secure);
    if (o.rollingTimeout === 0 && o.idlingTimeout === 0) return [];
    const h = meta.main.header;
    const rollingElapsed = now - h.creationTime - h.rollingOffset;
    if (o.rollingTimeout > 0 && rollingElapsed > Math.floor(o.rollingTimeout * 0.75)) {
      return this.write(session, session.data, now, secure);
    }
    if (o.idlingTimeout > 0 && rollingElapsed - h.idlingOffset > o.touchThreshold) {
      const touched = touchHeader(h, meta.main.ikm, rollingElapsed);
      const value = touched.headerEncoded + (this.#store === null ? meta.main.initialChunk : '');
      this.#meta.set(session, { ...meta, main: { ...meta.main, header: touched.header } });
      return [serializeCookie(o.cookieName, value, this.#attrs(secure))];
    }
    return [];
  }

  /** Expire the session's cookies (and its store entries); works without an opened session too. */
  async erase(session: Session | null, cookieHeader: string | undefined, secure = false): Promise<string[]> {
    const o = this.options;
    const cookies = parseCookieHeader(cookieHeader);
    const meta = session === null ? undefined : this.#meta.get(session);
    const out: string[] = [];
    const families: Array<[string, CookieMeta | null | undefined, boolean]> = [[o.cookieName, meta?.main, false]];
    if (o.remember || cookies.has(o.rememberCookieName)) families.push([o.rememberCookieName, meta?.remember, true]);
    for (const [name, m, remember] of families) {
      let chunks = m?.chunks ?? 1;
      for (let i = 2; i <= MAX_COOKIES; i++) if (cookies.has(chunkName(name, i))) chunks = Math.max(chunks, i);
      for (let i = 1; i <= chunks; i++) out.push(expireCookie(chunkName(name, i), this.#attrs(secure)));
      if (this.#store === null) continue;
      let key = m?.key;
      if (key === undefined) {
        // No session object: find the store entry from the (authenticated) cookie header.
        const value = cookies.get(name);
        const opened = value === undefined ? null : openHeader(value.slice(0, HEADER_ENCODED_SIZE), this.#ikms, remember);
        if (opened !== null) key = this.#storeKey(name, opened.header.sid);
      }
      if (key !== undefined) await this.#store.delete(key);
    }
    if (session !== null) this.#meta.set(session, { main: null, remember: null });
    return out;
  }

  /** A Cookie header without the session cookies. */
  stripSessionCookies(cookieHeader: string | undefined): string | undefined {
    const o = this.options;
    return stripCookieHeader(cookieHeader, o.remember ? [o.cookieName, o.rememberCookieName] : [o.cookieName]);
  }

  #attrs(secure: boolean, maxAge?: number, now?: number): CookieAttributes {
    const o = this.options;
    return {
      path: o.cookiePath,
      domain: o.cookieDomain,
      sameSite: o.cookieSameSite,
      httpOnly: o.cookieHttpOnly,
      secure: o.cookieSecure ?? secure,
      maxAge,
      now,
    };
  }

  #storeKey(cookieName: string, sid: Buffer): string {
    return `${cookieName}:${storageKey(sid)}`;
  }

  #remaining(h: Header, l: Limits, now: number): Session['timeouts'] | string {
    const absoluteElapsed = now - h.creationTime;
    const rollingElapsed = absoluteElapsed - h.rollingOffset;
    const idlingElapsed = rollingElapsed - h.idlingOffset;
    const out: { idling?: number; rolling?: number; absolute?: number; timeout?: number } = {};
    if (l.absolute > 0) {
      if (absoluteElapsed > l.absolute) return 'session absolute timeout exceeded';
      out.absolute = l.absolute - absoluteElapsed;
    }
    if (l.rolling > 0) {
      if (rollingElapsed > l.rolling) return 'session rolling timeout exceeded';
      out.rolling = l.rolling - rollingElapsed;
    }
    if (l.idling > 0) {
      if (idlingElapsed > l.idling) return 'session idling timeout exceeded';
      out.idling = l.idling - idlingElapsed;
    }
    const all = [out.idling, out.rolling, out.absolute].filter((v): v is number => v !== undefined);
    if (all.length > 0) out.timeout = Math.min(...all);
    return out;
  }

  /** Opens one cookie family (`name`, `name2`…); a reason string for anything invalid. */
  async #openOne(cookies: Map<string, string>, name: string, remember: boolean, now: number): Promise<Opened | string> {
    const value = cookies.get(name);
    if (value === undefined) return 'missing session cookie';
    if (value.length < HEADER_ENCODED_SIZE) return 'invalid session header';
    const opened = openHeader(value.slice(0, HEADER_ENCODED_SIZE), this.#ikms, remember);
    if (opened === null) return 'invalid session header or message authentication code';
    const { header, ikm } = opened;
    if (((header.flags & FLAG_STORAGE) !== 0) !== this.#serverSide) return 'invalid session flags (storage mismatch)';
    if (((header.flags & FLAG_REMEMBER) !== 0) !== remember) return 'invalid session flags';
    const timeouts = this.#remaining(header, remember ? this.#rememberLimits : this.#mainLimits, now);
    if (typeof timeouts === 'string') return remember ? timeouts.replace('session ', 'session remember ') : timeouts;

    let payload: string;
    let chunks = 1;
    let initialChunk = '';
    let key: string | undefined;
    if (this.#store !== null) {
      if (value.length !== HEADER_ENCODED_SIZE) return 'invalid session payload';
      key = this.#storeKey(name, header.sid);
      const stored = await this.#store.get(key, now);
      if (stored === null) return 'unable to load session (not in the store)';
      payload = stored;
    } else {
      const n = chunkCount(name.length, HEADER_ENCODED_SIZE, header.payloadSize);
      if (n === null) return 'cookie size limit exceeded';
      chunks = n;
      initialChunk = value.slice(HEADER_ENCODED_SIZE);
      const parts = [initialChunk];
      for (let i = 2; i <= n; i++) {
        const part = cookies.get(chunkName(name, i));
        if (part === undefined) return 'missing session cookie chunk';
        parts.push(part);
      }
      payload = parts.join('');
    }
    if (payload.length !== header.payloadSize) return 'invalid session payload';
    const data = openPayload(header, ikm, payload);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return 'unable to decrypt session data';
    return { data: data as RawSessionData, meta: { header, ikm, chunks, initialChunk, key }, timeouts };
  }

  #makeSession(data: RawSessionData, header: Header, remembered: boolean, timeouts: Session['timeouts'], meta: SessionMeta): Session {
    const s: Session = Object.freeze({
      id: header.sid.toString('base64url'),
      data,
      createdAt: header.creationTime,
      remembered,
      timeouts: Object.freeze(timeouts),
    });
    this.#meta.set(s, meta);
    return s;
  }

  /** Writes one cookie family; returns its Set-Cookie values and new meta. */
  async #writeOne(name: string, remember: boolean, previous: CookieMeta | null, creationTime: number, data: RawSessionData, now: number, secure: boolean): Promise<{ cookies: string[]; meta: CookieMeta }> {
    const o = this.options;
    const sealed = seal({
      ikm: this.#currentIkm,
      flags: (this.#serverSide ? FLAG_STORAGE : 0) | (remember ? FLAG_REMEMBER : 0),
      creationTime,
      rollingOffset: now - creationTime,
      data,
      compressAbove: o.compressAbove,
    });
    const a = remember ? this.#attrs(secure, o.rememberRollingTimeout === 0 ? MAX_TTL : o.rememberRollingTimeout, now) : this.#attrs(secure);
    const out: string[] = [];
    let chunks = 1;
    let initialChunk = '';
    let key: string | undefined;
    if (this.#store !== null) {
      key = this.#storeKey(name, sealed.header.sid);
      const limits = remember ? this.#rememberLimits : this.#mainLimits;
      const bounds = [limits.rolling, limits.absolute > 0 ? limits.absolute - (now - creationTime) : 0].filter((v) => v > 0);
      const ttl = bounds.length === 0 ? MAX_TTL : Math.max(1, Math.min(...bounds, MAX_TTL));
      await this.#store.set(key, sealed.payload, ttl, now);
      // The replaced session stays readable briefly for requests already in flight.
      if (previous?.key !== undefined) await this.#store.expire(previous.key, Math.max(1, o.staleTtl), now);
      out.push(serializeCookie(name, sealed.headerEncoded, a));
    } else {
      const n = chunkCount(name.length, HEADER_ENCODED_SIZE, sealed.payload.length);
      if (n === null) throw new SessionTooLargeError(sealed.payload.length);
      chunks = n;
      const parts = splitChunks(name.length, HEADER_ENCODED_SIZE, sealed.payload, n);
      initialChunk = parts[0] ?? '';
      out.push(serializeCookie(name, sealed.headerEncoded + initialChunk, a));
      for (let i = 2; i <= n; i++) out.push(serializeCookie(chunkName(name, i), parts[i - 1] ?? '', a));
    }
    // Chunks the previous cookie had and this one does not: expire them.
    const before = previous?.chunks ?? 1;
    for (let i = chunks + 1; i <= before; i++) out.push(expireCookie(chunkName(name, i), this.#attrs(secure)));
    return { cookies: out, meta: { header: sealed.header, ikm: this.#currentIkm, chunks, initialChunk, key } };
  }
}
