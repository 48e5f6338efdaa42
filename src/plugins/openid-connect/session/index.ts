/**
 * The openid-connect session layer: an encrypted, authenticated session
 * cookie with Kong's options and lua-resty-session 4's lifecycle (Kong's
 * session library since 3.2).
 *
 * Usage (per request, `now` in epoch seconds):
 *
 *   const sessions = createSessionManager(options);         // once per compiled config
 *   const s = await sessions.open(req.headers.cookie, now);  // Session | null
 *   // (or sessions.inspect(...) → { session, reason } to log why a cookie was refused)
 *   if (s) {
 *     setCookies.push(...await sessions.refresh(s, now, isHttps));   // touch / roll
 *     upstreamCookie = sessions.stripCookies(req.headers.cookie);    // never forward it
 *   }
 *   setCookies.push(...await sessions.save(s, data, now, isHttps)); // after login / token refresh
 *   setCookies.push(...await sessions.destroy(s, req.headers.cookie)); // logout, 401/403 destroy
 *   await sessions.close();                                  // when the config is retired
 *
 * Lifecycle (lua-resty-session 4 semantics):
 * - Each `save` draws a new session id; `createdAt` is kept, so the
 *   absolute timeout counts from the first login. The rolling offset becomes
 *   `now - createdAt` and the idling offset 0.
 * - `open` refuses a session whose absolute (`now - createdAt`), rolling
 *   (time since last save) or idling (time since last save or touch) age
 *   exceeds its timeout; 0 disables a timeout.
 * - `refresh` re-saves when 3/4 of the rolling timeout is spent, otherwise
 *   "touches" (re-sends the cookie with a new idling offset, data untouched)
 *   when more than `touchThreshold` (60 s) passed since the last save/touch.
 * - With `remember`, a persistent cookie (no idling timeout, its own rolling
 *   and absolute timeouts) restores the session when the session cookie is
 *   gone; the restored session has `remembered: true` and `refresh` saves it.
 *
 * Failure model: `open` resolves null for anything missing, tampered, sealed
 * with an unknown secret, truncated or expired — it never throws for client
 * input. A server-side store that cannot be reached rejects with
 * SessionStoreError (a 5xx for the caller, not "no session"). `save` throws
 * SessionTooLargeError when the data does not fit in 9 cookies (~35 KB).
 */
import { FLAG_REMEMBER, FLAG_STORAGE, HEADER_ENCODED_SIZE, ikmOf, openHeader, openPayload, seal, storageKey, touchHeader, type Header } from './crypto.ts';
import { chunkCount, chunkName, expireCookie, parseCookieHeader, serializeCookie, splitChunks, stripCookieHeader, MAX_COOKIES, type CookieAttributes } from './cookies.ts';
import { resolveSessionOptions, type ResolvedSessionOptions, type SessionOptions } from './options.ts';
import { RedisSessionStore, sharedMemoryStore, type SessionStore } from './store.ts';

export { SUPPORTED_SESSION_STORAGES, SESSION_DEFAULTS, resolveSessionOptions, sessionOptionsFromKong } from './options.ts';
export type { SessionOptions, ResolvedSessionOptions, SessionStorage } from './options.ts';
export { SessionStoreError, NodeSessionStore, RedisSessionStore, sharedMemoryStore } from './store.ts';
export type { SessionStore, RedisStoreOptions } from './store.ts';
export { sealAuthorizationState, openAuthorizationState } from './authorization-state.ts';
export type { AuthorizationState } from './authorization-state.ts';
export { parseCookieHeader, serializeCookie, expireCookie, stripCookieHeader } from './cookies.ts';
export type { CookieAttributes, SameSite } from './cookies.ts';

/** Session data: any JSON object (tokens, claims, expiry…). */
export type SessionData = Record<string, unknown>;

export interface Session {
  /** Session id, base64url (changes on every save; Kong's `Session-Id`). */
  readonly id: string;
  readonly data: SessionData;
  /** Epoch seconds of the first save (login). */
  readonly createdAt: number;
  /** Restored from the remember cookie: the caller should `refresh` (which saves). */
  readonly remembered: boolean;
  /** Seconds left at open time before each timeout (undefined when disabled); `timeout` is the nearest. */
  readonly timeouts: { idling?: number; rolling?: number; absolute?: number; timeout?: number };
}

export class SessionTooLargeError extends Error {
  readonly code = 'SESSION_TOO_LARGE';
  constructor(size: number) {
    super(`session data too large for ${MAX_COOKIES} cookies (${size} characters)`);
    this.name = 'SessionTooLargeError';
  }
}

export interface SessionManager {
  readonly options: ResolvedSessionOptions;
  open(cookieHeader: string | undefined, now: number): Promise<Session | null>;
  /** Like open, plus why no session was found (lua-resty-session's wording, for debug logs; never secrets). */
  inspect(cookieHeader: string | undefined, now: number): Promise<{ session: Session | null; reason: string | null }>;
  save(session: Session | null, data: SessionData, now: number, secure: boolean): Promise<string[]>;
  refresh(session: Session, now: number, secure: boolean): Promise<string[]>;
  destroy(session: Session | null, cookieHeader: string | undefined, secure?: boolean): Promise<string[]>;
  stripCookies(cookieHeader: string | undefined): string | undefined;
  close(): Promise<void>;
}

/** What the manager remembers about a cookie it opened or wrote (kept off the public object). */
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
  data: SessionData;
  meta: CookieMeta;
  timeouts: Session['timeouts'];
}

const META = new WeakMap<Session, SessionMeta>();
/** Redis' longest TTL we ever ask for (a year), when timeouts are disabled. */
const MAX_TTL = 31_536_000;

export function createSessionManager(input: SessionOptions): SessionManager {
  const o = resolveSessionOptions(input);
  const ikms = [o.secret, ...o.secretFallbacks].map(ikmOf);
  const currentIkm = ikms[0] as Buffer;
  const serverSide = o.storage !== 'cookie';
  const store: SessionStore | null = !serverSide
    ? null
    : o.store ?? (o.storage === 'memory' ? sharedMemoryStore() : new RedisSessionStore(o.redis, 'session'));
  const stripNames = o.remember ? [o.cookieName, o.rememberCookieName] : [o.cookieName];

  function attrs(secure: boolean, maxAge?: number, now?: number): CookieAttributes {
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

  function storeKey(cookieName: string, sid: Buffer): string {
    return `${cookieName}:${storageKey(sid)}`;
  }

  interface Limits {
    idling: number;
    rolling: number;
    absolute: number;
  }

  const mainLimits: Limits = { idling: o.idlingTimeout, rolling: o.rollingTimeout, absolute: o.absoluteTimeout };
  const rememberLimits: Limits = { idling: 0, rolling: o.rememberRollingTimeout, absolute: o.rememberAbsoluteTimeout };

  function remaining(h: Header, l: Limits, now: number): Session['timeouts'] | string {
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

  /** Opens one cookie family (`name`, `name2`…); null for anything invalid. */
  async function openOne(cookies: Map<string, string>, name: string, remember: boolean, now: number): Promise<Opened | string> {
    const value = cookies.get(name);
    if (value === undefined) return 'missing session cookie';
    if (value.length < HEADER_ENCODED_SIZE) return 'invalid session header';
    const opened = openHeader(value.slice(0, HEADER_ENCODED_SIZE), ikms, remember);
    if (opened === null) return 'invalid session header or message authentication code';
    const { header, ikm } = opened;
    if (((header.flags & FLAG_STORAGE) !== 0) !== serverSide) return 'invalid session flags (storage mismatch)';
    if (((header.flags & FLAG_REMEMBER) !== 0) !== remember) return 'invalid session flags';
    const timeouts = remaining(header, remember ? rememberLimits : mainLimits, now);
    if (typeof timeouts === 'string') return remember ? timeouts.replace('session ', 'session remember ') : timeouts;

    let payload: string;
    let chunks = 1;
    let initialChunk = '';
    let key: string | undefined;
    if (store !== null) {
      if (value.length !== HEADER_ENCODED_SIZE) return 'invalid session payload';
      key = storeKey(name, header.sid);
      const stored = await store.get(key, now);
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
    return { data: data as SessionData, meta: { header, ikm, chunks, initialChunk, key }, timeouts };
  }

  function makeSession(data: SessionData, header: Header, remembered: boolean, timeouts: Session['timeouts'], meta: SessionMeta): Session {
    const s: Session = Object.freeze({
      id: header.sid.toString('base64url'),
      data,
      createdAt: header.creationTime,
      remembered,
      timeouts: Object.freeze(timeouts),
    });
    META.set(s, meta);
    return s;
  }

  async function inspect(cookieHeader: string | undefined, now: number): Promise<{ session: Session | null; reason: string | null }> {
    const cookies = parseCookieHeader(cookieHeader);
    const main = await openOne(cookies, o.cookieName, false, now);
    let remember: Opened | string | null = null;
    if (o.remember && cookies.has(o.rememberCookieName)) remember = await openOne(cookies, o.rememberCookieName, true, now);
    const rememberOk = remember !== null && typeof remember !== 'string' ? remember : null;
    if (typeof main !== 'string') {
      return { session: makeSession(main.data, main.meta.header, false, main.timeouts, { main: main.meta, remember: rememberOk?.meta ?? null }), reason: null };
    }
    if (rememberOk !== null) {
      return { session: makeSession(rememberOk.data, rememberOk.meta.header, true, rememberOk.timeouts, { main: null, remember: rememberOk.meta }), reason: null };
    }
    return { session: null, reason: main };
  }

  async function open(cookieHeader: string | undefined, now: number): Promise<Session | null> {
    return (await inspect(cookieHeader, now)).session;
  }

  /** Writes one cookie family; returns its Set-Cookie values and new meta. */
  async function writeOne(name: string, remember: boolean, previous: CookieMeta | null, creationTime: number, data: SessionData, now: number, secure: boolean): Promise<{ cookies: string[]; meta: CookieMeta }> {
    const sealed = seal({
      ikm: currentIkm,
      flags: (serverSide ? FLAG_STORAGE : 0) | (remember ? FLAG_REMEMBER : 0),
      creationTime,
      rollingOffset: now - creationTime,
      data,
      compressAbove: o.compressAbove,
    });
    const a = remember ? attrs(secure, o.rememberRollingTimeout === 0 ? MAX_TTL : o.rememberRollingTimeout, now) : attrs(secure);
    const out: string[] = [];
    let chunks = 1;
    let initialChunk = '';
    let key: string | undefined;
    if (store !== null) {
      key = storeKey(name, sealed.header.sid);
      const limits = remember ? rememberLimits : mainLimits;
      const bounds = [limits.rolling, limits.absolute > 0 ? limits.absolute - (now - creationTime) : 0].filter((v) => v > 0);
      const ttl = bounds.length === 0 ? MAX_TTL : Math.max(1, Math.min(...bounds, MAX_TTL));
      await store.set(key, sealed.payload, ttl, now);
      // The replaced session stays readable briefly for requests already in flight.
      if (previous?.key !== undefined) await store.expire(previous.key, Math.max(1, o.staleTtl), now);
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
    for (let i = chunks + 1; i <= before; i++) out.push(expireCookie(chunkName(name, i), attrs(secure)));
    return { cookies: out, meta: { header: sealed.header, ikm: currentIkm, chunks, initialChunk, key } };
  }

  async function save(session: Session | null, data: SessionData, now: number, secure: boolean): Promise<string[]> {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new TypeError('session data must be an object');
    const prev = session === null ? undefined : META.get(session);
    // A session restored from the remember cookie starts a fresh session cookie.
    const creation = session === null || session.remembered ? now : session.createdAt;
    const main = await writeOne(o.cookieName, false, prev?.main ?? null, creation, data, now, secure);
    const cookies = main.cookies;
    let rememberMeta: CookieMeta | null = prev?.remember ?? null;
    if (o.remember) {
      const rememberCreation = rememberMeta?.header.creationTime ?? now;
      const r = await writeOne(o.rememberCookieName, true, rememberMeta, rememberCreation, data, now, secure);
      cookies.push(...r.cookies);
      rememberMeta = r.meta;
    }
    if (session !== null) META.set(session, { main: main.meta, remember: rememberMeta });
    return cookies;
  }

  async function refresh(session: Session, now: number, secure: boolean): Promise<string[]> {
    const meta = META.get(session);
    if (meta === undefined) throw new TypeError('not a session opened by this manager');
    if (session.remembered || meta.main === null) return save(session, session.data, now, secure);
    if (o.rollingTimeout === 0 && o.idlingTimeout === 0) return [];
    const h = meta.main.header;
    const rollingElapsed = now - h.creationTime - h.rollingOffset;
    if (o.rollingTimeout > 0 && rollingElapsed > Math.floor(o.rollingTimeout * 0.75)) {
      return save(session, session.data, now, secure);
    }
    if (o.idlingTimeout > 0 && rollingElapsed - h.idlingOffset > o.touchThreshold) {
      const touched = touchHeader(h, meta.main.ikm, rollingElapsed);
      const value = touched.headerEncoded + (store === null ? meta.main.initialChunk : '');
      META.set(session, { ...meta, main: { ...meta.main, header: touched.header } });
      return [serializeCookie(o.cookieName, value, attrs(secure))];
    }
    return [];
  }

  async function destroy(session: Session | null, cookieHeader: string | undefined, secure = false): Promise<string[]> {
    const cookies = parseCookieHeader(cookieHeader);
    const meta = session === null ? undefined : META.get(session);
    const out: string[] = [];
    const families: Array<[string, CookieMeta | null | undefined, boolean]> = [[o.cookieName, meta?.main, false]];
    if (o.remember || cookies.has(o.rememberCookieName)) families.push([o.rememberCookieName, meta?.remember, true]);
    for (const [name, m, remember] of families) {
      let chunks = m?.chunks ?? 1;
      for (let i = 2; i <= MAX_COOKIES; i++) if (cookies.has(chunkName(name, i))) chunks = Math.max(chunks, i);
      for (let i = 1; i <= chunks; i++) out.push(expireCookie(chunkName(name, i), attrs(secure)));
      if (store === null) continue;
      let key = m?.key;
      if (key === undefined) {
        // No session object: find the store entry from the (authenticated) cookie header.
        const value = cookies.get(name);
        const opened = value === undefined ? null : openHeader(value.slice(0, HEADER_ENCODED_SIZE), ikms, remember);
        if (opened !== null) key = storeKey(name, opened.header.sid);
      }
      if (key !== undefined) await store.delete(key);
    }
    if (session !== null) META.set(session, { main: null, remember: null });
    return out;
  }

  return {
    options: o,
    open,
    inspect,
    save,
    refresh,
    destroy,
    stripCookies: (cookieHeader) => stripCookieHeader(cookieHeader, stripNames),
    async close() {
      // The shared memory store outlives managers; Redis clients are ref-counted.
      if (store !== null && o.store === undefined && o.storage === 'redis') await store.close();
    },
  };
}
