/**
 * What the access phase needs from the session layer (./session/, owned by
 * the session work): the gateway session cookie and the short-lived
 * `authorization` cookie of the code flow. Kept as a narrow port so the
 * orchestration reads as Kong's handler does (open, set data, save or touch,
 * destroy, hide from upstream) whatever the cookie codec looks like.
 */
import type { RequestContext } from '../../core/context.ts';

/** Tokens kept in the session (Kong stores the token endpoint response). */
export interface StoredTokens {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
}

/** Kong's session data: which client, the tokens, and when the access token expires (epoch s, 0 = never). */
export interface SessionData {
  client: number;
  tokens: StoredTokens;
  expires: number;
}

export interface SessionHandle {
  /** A valid session cookie came with the request. */
  readonly present: boolean;
  readonly data: SessionData | null;
  /** Session id (for `*_session_id_header`), when the store has one. */
  readonly id: string | null;
  /** Why an offered cookie was not accepted (expired, tampered …), for the debug log. */
  readonly error: string | null;
}

/** State of an authorization code flow in progress (sealed into the `authorization` cookie). */
export interface AuthorizationState {
  state: string;
  nonce: string;
  code_verifier: string | null;
  /** Client index (1-based). */
  client: number;
  /** redirect_uri sent to the authorization endpoint (the token request must repeat it, RFC 6749 §4.1.3). */
  redirect_uri: string;
  /** The URL the flow started from (login_action redirect goes back to it). */
  uri: string;
  /** Its raw query, with preserve_query_args. */
  uri_args: string | null;
  /** Extra authorization arguments (authorization_query_args_*), replayed on a restart. */
  args: Record<string, string> | null;
}

/**
 * Every method that changes cookies returns the Set-Cookie values to send
 * (the access phase adds them to whatever response goes out, proxied or not).
 */
export interface SessionPort {
  /** Open the gateway session from the request's cookie(s). */
  open(ctx: RequestContext): Promise<SessionHandle>;
  /** Write `data` as the session (a new session id every time, lua-resty-session 4). */
  save(ctx: RequestContext, handle: SessionHandle, data: SessionData, subject: string | null): Promise<{ handle: SessionHandle; cookies: string[] }>;
  /** Extend an unchanged session (idling timeout touch, or rolling re-save when due). */
  touch(ctx: RequestContext, handle: SessionHandle): Promise<string[]>;
  /** Remove the session (and its cookies) whatever its state. */
  destroy(ctx: RequestContext, handle: SessionHandle | null): Promise<string[]>;
  /** Never let the session or authorization cookies reach the upstream. */
  stripCookies(ctx: RequestContext): void;
  /** Read the authorization cookie, or null when absent / expired / not ours. */
  openAuthorization(ctx: RequestContext): Promise<AuthorizationState | null>;
  /** Write the authorization cookie (lifetime authorization_rolling_timeout). */
  saveAuthorization(ctx: RequestContext, state: AuthorizationState): Promise<string[]>;
  /** Delete the authorization cookie. */
  clearAuthorization(ctx: RequestContext): string[];
  /** Release connections (server-side storage) when the config is retired. */
  close(): Promise<void>;
}

/** A port with no sessions (auth_methods without `session` and `authorization_code`). */
export const NO_SESSIONS: SessionPort = {
  async open() {
    return { present: false, data: null, id: null, error: null };
  },
  async save(_ctx, handle) {
    return { handle, cookies: [] };
  },
  async touch() {
    return [];
  },
  async destroy() {
    return [];
  },
  stripCookies() {},
  async openAuthorization() {
    return null;
  },
  async saveAuthorization() {
    return [];
  },
  clearAuthorization() {
    return [];
  },
  async close() {},
};
