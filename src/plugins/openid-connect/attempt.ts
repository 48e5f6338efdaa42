/**
 * One request's authentication attempt: what has been established so far.
 * A class with every field assigned in the constructor (one hidden class on
 * the hot path); the steps in authenticate.ts and access.ts fill it in.
 */
import { decodeJwt, type JWK } from 'jose';
import type { RequestContext } from '../../core/context.ts';
import type { ClientConfig } from './clients.ts';
import type { CompiledOidc } from './compile.ts';
import { IdpUnavailable } from './http.ts';
import type { Provider } from './provider.ts';
import type { AuthMethod } from './schema.ts';
import type { SessionHandle, StoredTokens } from './session/index.ts';
import { introspect } from './validate/introspection.ts';
import { loadUserinfo } from './validate/userinfo.ts';
import { recordIdpFailure } from './failures.ts';
import { deepFreeze } from './claims.ts';

/** Claims of a JWT without verifying it (tokens from the session or the token endpoint); null when opaque. */
export function decodeClaims(token: string | undefined): Record<string, unknown> | null {
  if (token === undefined || token.split('.').length !== 3) return null;
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * Claims of the tokens kept in a session, decoded once per session data
 * object: the session layer returns the same frozen tokens object while the
 * cookie is unchanged, so a replayed session cookie costs no base64/JSON
 * decoding. The claims are frozen (shared between requests). Entries live
 * as long as the tokens object (WeakMap), itself bounded by the session
 * payload cache.
 */
const sessionClaims = new WeakMap<StoredTokens, { access: Record<string, unknown> | null; id: Record<string, unknown> | null }>();

function frozenClaims(token: string | undefined): Record<string, unknown> | null {
  return deepFreeze(decodeClaims(token));
}

/**
 * Claims of an introspected token, decoded once per (cached, frozen)
 * introspection answer: that object belongs to this one token.
 */
const introspectedClaims = new WeakMap<object, Record<string, unknown> | null>();

export function claimsOfIntrospected(introspection: Record<string, unknown>, token: string): Record<string, unknown> | null {
  if (!Object.isFrozen(introspection)) return decodeClaims(token);
  let c = introspectedClaims.get(introspection);
  if (c === undefined) {
    c = frozenClaims(token);
    introspectedClaims.set(introspection, c);
  }
  return c;
}

/** Access and ID token claims of session tokens (decoded, not verified: the session is the trusted source). */
export function claimsOfStoredTokens(tokens: StoredTokens): { access: Record<string, unknown> | null; id: Record<string, unknown> | null } {
  let c = sessionClaims.get(tokens);
  if (c !== undefined) return c;
  c = { access: frozenClaims(tokens.access_token), id: frozenClaims(tokens.id_token) };
  if (Object.isFrozen(tokens)) sessionClaims.set(tokens, c);
  return c;
}

export class Attempt {
  readonly ctx: RequestContext;
  readonly conf: CompiledOidc;
  client: ClientConfig;
  provider: Provider | null;
  realm: string;
  session: SessionHandle | null;
  /** The auth method that succeeded (Kong's auth_method). */
  method: AuthMethod | null;
  tokens: StoredTokens | null;
  /** Raw token endpoint response (login_tokens: tokens). */
  tokenResponse: Record<string, unknown> | null;
  /** Access token claims: verified (bearer) or decoded from a trusted source. */
  accessClaims: Record<string, unknown> | null;
  accessJwk: JWK | null;
  idClaims: Record<string, unknown> | null;
  idJwk: JWK | null;
  introspection: Record<string, unknown> | null;
  introspected: boolean;
  userinfo: Record<string, unknown> | null;
  userinfoLoaded: boolean;
  /** The token came as `Authorization: DPoP …`. */
  viaDpopScheme: boolean;
  /** `cnf.x5t#S256` the request was proven against (mTLS-bound token or session), kept in the session it writes. */
  boundX5t: string | null;
  /** Access token expiry, epoch seconds; 0 = never. */
  exp: number;
  /** The session must be written (new tokens) … */
  sessionModified: boolean;
  /** … under a new id (tokens refreshed in an existing session). */
  sessionRegenerate: boolean;
  /** A refresh failed but the token is still valid: proceed without touching the session. */
  proxyDespiteRefreshFailure: boolean;
  /** Where the code flow started (login_action redirect target when login_redirect_uri is unset). */
  dynamicLoginUri: string | null;
  /** The original query (preserve_query_args). */
  preservedArgs: string | null;
  /** Token endpoint response headers to replay downstream. */
  replay: Record<string, string> | null;
  /** Set-Cookie values and downstream headers to add to the client's response (header_filter). */
  responseCookies: string[] | null;
  downstream: Array<[string, string]> | null;

  constructor(ctx: RequestContext, conf: CompiledOidc, client: ClientConfig) {
    this.ctx = ctx;
    this.conf = conf;
    this.client = client;
    this.provider = null;
    this.realm = conf.realm;
    this.session = null;
    this.method = null;
    this.tokens = null;
    this.tokenResponse = null;
    this.accessClaims = null;
    this.accessJwk = null;
    this.idClaims = null;
    this.idJwk = null;
    this.introspection = null;
    this.introspected = false;
    this.userinfo = null;
    this.userinfoLoaded = false;
    this.viaDpopScheme = false;
    this.boundX5t = null;
    this.exp = 0;
    this.sessionModified = false;
    this.sessionRegenerate = false;
    this.proxyDespiteRefreshFailure = false;
    this.dynamicLoginUri = null;
    this.preservedArgs = null;
    this.replay = null;
    this.responseCookies = null;
    this.downstream = null;
  }

  /** Queue Set-Cookie values for the client's response. */
  addCookies(cookies: readonly string[]): void {
    if (cookies.length === 0) return;
    if (this.responseCookies === null) this.responseCookies = [];
    for (const c of cookies) this.responseCookies.push(c);
  }

  /** Queue a downstream header (appended to the client's response, Kong's set_downstream). */
  addDownstream(name: string, value: string): void {
    if (this.downstream === null) this.downstream = [];
    this.downstream.push([name, value]);
  }

  get provided(): Provider {
    if (this.provider === null) throw new Error('provider not resolved');
    return this.provider;
  }

  /** User info as an optional claim source: loaded once, failures logged (Kong logs and goes on). */
  async optionalUserinfo(): Promise<Record<string, unknown> | null> {
    if (this.userinfoLoaded) return this.userinfo;
    this.userinfoLoaded = true;
    if (this.tokens === null || this.provider === null) return null;
    try {
      this.userinfo = await loadUserinfo(this.ctx, this.conf.userinfo, this.provider, this.conf.http, this.conf.caches, this.tokens.access_token, this.exp || null);
    } catch (err) {
      if (err instanceof IdpUnavailable) recordIdpFailure(this.conf.log, this.provider.issuer, err);
      else this.conf.log.debug(`[openid-connect] user info could not be loaded (${(err as Error).message})`);
    }
    return this.userinfo;
  }

  /** Introspection as an optional claim source (opaque tokens, introspection headers). */
  async optionalIntrospection(): Promise<Record<string, unknown> | null> {
    if (this.introspected) return this.introspection;
    this.introspected = true;
    if (this.tokens === null || this.provider === null) return null;
    try {
      this.introspection = await introspect(this.ctx, this.conf.introspection, this.conf.clients, this.client, this.provider, this.conf.http, this.conf.caches, this.tokens.access_token);
    } catch (err) {
      if (err instanceof IdpUnavailable) recordIdpFailure(this.conf.log, this.provider.issuer, err);
      else this.conf.log.debug(`[openid-connect] error introspecting token (${(err as Error).message})`);
    }
    return this.introspection;
  }
}
