/**
 * OAuth 2.0 Token Exchange (RFC 8693), Kong's `token_exchange` (3.14+): the
 * caller's bearer token (the *subject token*) is exchanged at the token
 * endpoint for a token meant for the upstream, which then travels upstream
 * in its place.
 *
 * When (Kong's rules, developer.konghq.com "Multi-IdP token validation"):
 * - the subject token is a JWT whose `iss` is listed in
 *   `token_exchange.subject_token_issuers`; any other token takes the normal
 *   bearer path;
 * - issued by another issuer than `config.issuer`: always exchanged. Its
 *   `exp`/`nbf` are checked here (with `leeway`); with the issuer's
 *   `verify_signature` (Kong 3.15) its signature too — against `jwks_uri`,
 *   else the keys the issuer's discovery document names — with every check
 *   a bearer token gets (alg allow-list, forbidden headers, `iss`), so a
 *   forged token never reaches the IdP. Without it (Kong's default) the
 *   signature is the exchanging IdP's to check;
 * - issued by `config.issuer`: verified like any bearer token first, then
 *   exchanged only when the issuer's `conditions` hold — every
 *   `has_audience` / `has_scopes` value present, no `missing_audience` /
 *   `missing_scopes` value present (no conditions = always).
 * What is requested (§2.1): `subject_token_type` access_token,
 * `requested_token_type` access_token, `scope` = `request.scopes`, else the
 * plugin's `scopes` unless `request.empty_scopes`; `audience` =
 * `request.audience`, else the plugin's `audience` unless
 * `request.empty_audience` (the fallback to the plugin's own lists is our
 * reading of Kong's `empty_*` switches).
 * The exchanged token is verified like a bearer token of `config.issuer`.
 * IdP answers: 400/401/403 → 401 for the caller; 5xx, garbage, unreachable →
 * 500/502/504 as for every grant (http.ts, errors.ts).
 *
 * Cache (`token_exchange.cache.enabled` and `cache_token_exchange`): per
 * node (every worker shares the node's state database, src/core/node-state),
 * keyed by a SHA-256 of (token endpoint, client, subject token, scope,
 * audience), until the exchanged token expires (its `expires_in`, else
 * `token_exchange.cache.ttl`, else `cache_ttl`), never past the subject
 * token's own `exp`, at most `cache_ttl_max`. Refusals are not cached.
 */
import type { StatementSync } from 'node:sqlite';
import type { RequestContext } from '../../../core/context.ts';
import { getRetry, nodeDatabase, runRetry } from '../../../core/node-state/database.ts';
import { cacheKey, type CachePolicy } from '../cache.ts';
import { claimWords } from '../claims.ts';
import { discoveryUrlFor, type IssuerPlan } from '../discovery.ts';
import type { HttpPolicy } from '../http.ts';
import { buildProvider, resolveProvider, type Provider } from '../provider.ts';
import { verifyJwt, type JwtPolicy } from '../validate/jwt.ts';
import { unauthorized } from '../errors.ts';
import { requestTokens, type BoundTokenEndpoint, type TokenSet } from './token-endpoint.ts';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface ExchangeConditions {
  readonly hasAudience: readonly string[];
  readonly missingAudience: readonly string[];
  readonly hasScopes: readonly string[];
  readonly missingScopes: readonly string[];
}

/** How a foreign subject token's signature is verified (`verify_signature`). */
export interface SubjectVerification {
  readonly plan: IssuerPlan;
  readonly policy: JwtPolicy;
  /** `jwks_uri` given: the keys are known without discovery. */
  readonly provider: Provider | null;
}

export interface TokenExchangePlan {
  /** issuer → conditions (null: none, always exchange). */
  readonly issuers: ReadonlyMap<string, ExchangeConditions | null>;
  /** issuer → signature verification, for issuers with `verify_signature`. */
  readonly verify: ReadonlyMap<string, SubjectVerification>;
  /** Space-joined scope to request, or null for none. */
  readonly scope: string | null;
  /** Audiences to request (each an `audience` parameter). */
  readonly audience: readonly string[];
  readonly cache: boolean;
  /** `token_exchange.cache.ttl` in ms, or null (then cache_ttl). */
  readonly cacheTtlMs: number | null;
}

interface TokenExchangeConfig {
  subject_token_issuers: Array<{
    issuer: string;
    verify_signature?: boolean;
    jwks_uri?: string | null;
    conditions?: { has_audience?: string[] | null; missing_audience?: string[] | null; has_scopes?: string[] | null; missing_scopes?: string[] | null } | null;
  }>;
  request?: { scopes?: string[] | null; empty_scopes?: boolean; audience?: string[] | null; empty_audience?: boolean } | null;
  cache?: { enabled?: boolean; ttl?: number | null } | null;
}

/** What verifying a foreign subject token needs from the plugin's configuration. */
export interface SubjectVerificationEnv {
  readonly http: HttpPolicy;
  readonly leewaySec: number;
  readonly cacheTtlMs: number;
  readonly rediscoveryMs: number;
}

function subjectVerification(issuer: string, jwksUri: string | null, env: SubjectVerificationEnv): SubjectVerification {
  const discoveryUrl = discoveryUrlFor(issuer);
  const plan: IssuerPlan = Object.freeze({
    configured: issuer,
    discoveryUrl,
    headers: Object.freeze({}),
    cacheTtlMs: env.cacheTtlMs,
    rediscoveryMs: env.rediscoveryMs,
    http: env.http,
    overrides: Object.freeze({
      authorization_endpoint: null, token_endpoint: null, introspection_endpoint: null, revocation_endpoint: null,
      userinfo_endpoint: null, end_session_endpoint: null, jwks_uri: jwksUri, pushed_authorization_request_endpoint: null,
    }),
    extraJwksUris: Object.freeze([]),
    key: `${discoveryUrl}\n{}`,
  });
  const policy: JwtPolicy = Object.freeze({
    id: cacheKey('subject-token', issuer, jwksUri ?? '', String(env.leewaySec)),
    leewaySec: env.leewaySec,
    enableHs: false,
    hmacSecrets: Object.freeze([]),
    issuersAllowed: Object.freeze([]),
    http: env.http,
    cooldownMs: Math.max(env.rediscoveryMs, 1000),
  });
  // With jwks_uri the issuer is known from the configuration: no discovery document is needed.
  const provider = jwksUri !== null ? buildProvider(plan, { issuer, jwks_uri: jwksUri }) : null;
  return Object.freeze({ plan, policy, provider });
}

/** Verify a foreign subject token's signature and claims (verify_signature). Throws a 401 Rejection, or IdpUnavailable. */
export async function verifySubjectToken(token: string, v: SubjectVerification): Promise<Record<string, unknown>> {
  const provider = v.provider ?? (await resolveProvider(v.plan));
  return (await verifyJwt(token, v.policy, provider, null)).payload as Record<string, unknown>;
}

export function compileTokenExchange(
  c: {
    token_exchange: unknown;
    cache_token_exchange: boolean;
    scopes: string[] | null;
    audience: string[] | null;
  },
  env: SubjectVerificationEnv,
): TokenExchangePlan | null {
  const te = c.token_exchange as TokenExchangeConfig | null | undefined;
  if (te === null || te === undefined) return null;
  const issuers = new Map<string, ExchangeConditions | null>();
  const verify = new Map<string, SubjectVerification>();
  for (const entry of te.subject_token_issuers) {
    if (entry.verify_signature === true) verify.set(entry.issuer, subjectVerification(entry.issuer, entry.jwks_uri ?? null, env));
    const cond = entry.conditions ?? null;
    issuers.set(
      entry.issuer,
      cond === null
        ? null
        : Object.freeze({
            hasAudience: Object.freeze([...(cond.has_audience ?? [])]),
            missingAudience: Object.freeze([...(cond.missing_audience ?? [])]),
            hasScopes: Object.freeze([...(cond.has_scopes ?? [])]),
            missingScopes: Object.freeze([...(cond.missing_scopes ?? [])]),
          }),
    );
  }
  const req = te.request ?? null;
  const scopes = req?.scopes ?? (req?.empty_scopes === true ? null : c.scopes);
  const audience = req?.audience ?? (req?.empty_audience === true ? null : c.audience);
  const ttl = te.cache?.ttl ?? null;
  return Object.freeze({
    issuers,
    verify,
    scope: scopes !== null && scopes.length > 0 ? scopes.join(' ') : null,
    audience: Object.freeze([...(audience ?? [])]),
    cache: (te.cache?.enabled ?? true) && c.cache_token_exchange,
    cacheTtlMs: ttl !== null && ttl > 0 ? ttl * 1000 : null,
  });
}

/** Do the subject token's claims meet the issuer's conditions? */
export function conditionsHold(cond: ExchangeConditions | null, claims: Record<string, unknown>): boolean {
  if (cond === null) return true;
  const aud = claimWords(claims.aud) ?? [];
  const scopes = claimWords(claims.scope) ?? claimWords(claims.scp) ?? [];
  for (const a of cond.hasAudience) if (!aud.includes(a)) return false;
  for (const a of cond.missingAudience) if (aud.includes(a)) return false;
  for (const s of cond.hasScopes) if (!scopes.includes(s)) return false;
  for (const s of cond.missingScopes) if (scopes.includes(s)) return false;
  return true;
}

/** A foreign subject token is not verified here, but an expired or not-yet-valid one is never sent. */
export function checkTimes(claims: Record<string, unknown>, leewaySec: number, now = Math.floor(Date.now() / 1000)): void {
  if (typeof claims.exp === 'number' && claims.exp + leewaySec <= now) throw unauthorized(`invalid exp claim (${claims.exp}) was specified for subject token`);
  if (typeof claims.nbf === 'number' && claims.nbf - leewaySec > now) throw unauthorized(`invalid nbf claim (${claims.nbf}) was specified for subject token`);
}

// ------------------------------------------------------------------ the per-node cache

interface Statements {
  get: StatementSync;
  set: StatementSync;
  sweep: StatementSync;
}

let statements: Statements | null = null;
let writes = 0;
const SWEEP_EVERY = 512;

function db(): Statements {
  if (statements !== null) return statements;
  const d = nodeDatabase();
  d.exec('CREATE TABLE IF NOT EXISTS oidc_token_exchange (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID');
  statements = {
    get: d.prepare('SELECT value FROM oidc_token_exchange WHERE key = ? AND expires_at > ?'),
    set: d.prepare('INSERT INTO oidc_token_exchange (key, value, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET value = ?2, expires_at = ?3'),
    sweep: d.prepare('DELETE FROM oidc_token_exchange WHERE expires_at <= ?'),
  };
  return statements;
}

/** Exchanges in flight in this worker: concurrent requests with one subject token share one IdP call. */
const inflight = new Map<string, Promise<TokenSet>>();

function ttlMs(plan: TokenExchangePlan, cache: CachePolicy, tokens: TokenSet, subjectExp: number | null, now: number): number {
  let ttl = tokens.expiresAt !== null ? tokens.expiresAt * 1000 - now : (plan.cacheTtlMs ?? cache.defaultTtlMs);
  if (subjectExp !== null) ttl = Math.min(ttl, subjectExp * 1000 - now);
  if (cache.maxTtlMs !== null) ttl = Math.min(ttl, cache.maxTtlMs);
  return ttl;
}

/**
 * Exchange `subjectToken` (claims already read) at the bound token endpoint.
 * Returns the exchanged tokens (from the node's cache when held).
 */
export async function exchangeToken(ctx: RequestContext, te: BoundTokenEndpoint, plan: TokenExchangePlan, subjectToken: string, subjectExp: number | null): Promise<TokenSet> {
  const params: Record<string, string> = {
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
  };
  const run = (): Promise<TokenSet> =>
    requestTokens(ctx, te, { grant: TOKEN_EXCHANGE_GRANT, params, cacheable: false, scope: plan.scope, audience: plan.audience });
  if (!plan.cache) return run();

  const key = cacheKey('token-exchange', te.url, te.auth.client.id ?? '', subjectToken, plan.scope ?? '', plan.audience.join('\n'));
  const now = Date.now();
  const s = db();
  const row = getRetry(s.get, key, now) as { value: string } | undefined;
  if (row !== undefined) return JSON.parse(row.value) as TokenSet;
  let p = inflight.get(key);
  if (p === undefined) {
    p = (async () => {
      try {
        const tokens = await run();
        const t = Date.now();
        const ttl = ttlMs(plan, te.endpoint.cache, tokens, subjectExp, t);
        if (ttl > 0) {
          runRetry(s.set, key, JSON.stringify(tokens), t + ttl);
          if (++writes % SWEEP_EVERY === 0) runRetry(s.sweep, t);
        }
        return tokens;
      } finally {
        inflight.delete(key);
      }
    })();
    inflight.set(key, p);
  }
  return p;
}
