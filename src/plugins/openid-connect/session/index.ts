/**
 * The openid-connect session: one class (OidcSessions, ./sessions.ts) over
 * the cookie codec (./crypto.ts, ./cookies.ts), the server-side stores
 * (./store.ts), Kong's options (./options.ts) and the authorization cookie
 * (./authorization-state.ts).
 */
export { OidcSessions, SessionTooLargeError } from './sessions.ts';
export type { Session, SessionHandle, SessionBinding, RawSessionData, IdpIdentity } from './sessions.ts';
export { LogoutRegistry, type LogoutRecord } from './logouts.ts';
export type { AuthorizationState, SessionData, StoredTokens } from './types.ts';
export { SUPPORTED_SESSION_STORAGES, SESSION_DEFAULTS, resolveSessionOptions, sessionOptionsFromKong } from './options.ts';
export type { SessionOptions, ResolvedSessionOptions, SessionStorage } from './options.ts';
export { SessionStoreError, NodeSessionStore, RedisSessionStore, sharedMemoryStore } from './store.ts';
export type { SessionStore, RedisStoreOptions } from './store.ts';
export { sealAuthorizationState, openAuthorizationState } from './authorization-state.ts';
export { parseCookieHeader, serializeCookie, expireCookie, stripCookieHeader } from './cookies.ts';
export type { CookieAttributes, SameSite } from './cookies.ts';
