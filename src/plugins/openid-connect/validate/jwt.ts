/**
 * JWT access token verification (RFC 7519 §7.2, RFC 7515 §5.2, RFC 8725
 * "JWT Best Current Practices"), done locally against the IdP's keys:
 *
 * - size: tokens over MAX_TOKEN_BYTES are refused before any parsing;
 * - `alg`: must be in the IdP's allow-list (provider.ts); `none` never;
 *   HS256/384/512 only with `enable_hs_signatures`, and then verified with
 *   the client secret — never with a public key (RFC 8725 §2.1, §3.1);
 * - `jku`, `x5u` and embedded `jwk` headers are never followed: a token
 *   carrying one is refused (RFC 8725 §3.10: keys come from configuration);
 * - `crit` with parameters we do not understand is refused (RFC 7515 §4.1.11,
 *   jose's default);
 * - `iss` must be the discovered issuer or one of `issuers_allowed`;
 * - `exp` and `nbf` with `leeway` (jose clockTolerance); `iat` must not be in
 *   the future beyond `leeway`.
 * Verified tokens are cached by SHA-256 (cache.ts) until they expire, so a
 * repeated bearer token costs a hash and a map lookup, not a signature check.
 * `cachedJwt` is that lookup alone: authentication consults it before
 * anything else (no header decode on a hit). A cached verdict is bound to
 * what verified it — it is used only while
 *   - the token has not expired (entry TTL = `exp` + leeway, at most cache_ttl_max),
 *   - the provider (discovery document, hence the algorithm allow-list) is the
 *     same object that was used to verify it, and
 *   - the public key that verified it is still in the IdP's currently loaded
 *     JWKS (a key the IdP removed drops every verdict it signed as soon as the
 *     key set is refetched — exactly when an uncached verification would
 *     start failing); the key set's max-age refresh is still kicked on hits.
 * A tampered token hashes to another key: it can never hit the original's entry.
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { KeyObject } from 'node:crypto';
import { hash } from 'node:crypto';
import { caches, type CachePolicy } from '../cache.ts';
import { deepFreeze } from '../claims.ts';
import { TOKEN_EXPIRED_DESCRIPTION, unauthorized } from '../errors.ts';
import type { HttpPolicy } from '../http.ts';
import { findKeys, importedKey, type RemoteKeySet, type VerificationKey } from '../jwks.ts';
import { HMAC_ALGS, type Provider } from '../provider.ts';

/** Refuse anything larger: no legitimate access token is this big, and parsing costs. */
export const MAX_TOKEN_BYTES = 16 * 1024;

export interface JwtPolicy {
  /** Fingerprint of everything below, so cached verdicts are never shared across policies. */
  readonly id: string;
  readonly leewaySec: number;
  readonly enableHs: boolean;
  /** Client secrets usable as HMAC keys (only with enableHs). */
  readonly hmacSecrets: readonly Uint8Array[];
  /** Issuers accepted besides the discovered one. */
  readonly issuersAllowed: readonly string[];
  readonly http: HttpPolicy;
  /** Unknown-kid refetch cooldown (rediscovery_lifetime). */
  readonly cooldownMs: number;
}

export interface VerifiedJwt {
  readonly header: JWTHeaderParameters;
  readonly payload: JWTPayload;
  /** The public JWK that verified it (null for HMAC). */
  readonly jwk: JWK | null;
}

/** Is this a compact JWS (three base64url segments with a JSON header)? Used to decide fall-through. */
export function looksLikeJwt(token: string): boolean {
  if (token.length > MAX_TOKEN_BYTES) return false;
  const first = token.indexOf('.');
  if (first <= 0) return false;
  const second = token.indexOf('.', first + 1);
  if (second === -1 || token.indexOf('.', second + 1) !== -1) return false;
  try {
    decodeProtectedHeader(token);
    return true;
  } catch {
    return false;
  }
}

const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk'] as const;

function invalid(detail: string) {
  return unauthorized(`invalid jwt token (${detail})`);
}

/** Map jose's verification errors to Kong-worded rejections. */
function rejectionFor(err: unknown) {
  if (err instanceof joseErrors.JWTExpired) return unauthorized('invalid jwt token (token has expired)', TOKEN_EXPIRED_DESCRIPTION);
  if (err instanceof joseErrors.JWTClaimValidationFailed) return invalid(`${err.claim} claim ${err.reason === 'check_failed' ? 'check failed' : err.reason}`);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return invalid('signature verification failed');
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return invalid('algorithm not allowed');
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) return invalid((err as Error).message);
  if (err instanceof joseErrors.JOSENotSupported) return invalid((err as Error).message);
  return invalid('verification failed');
}

/**
 * Verify a JWT access token. Returns the verified token; throws a Rejection
 * (401) when it is not acceptable, or IdpUnavailable when the keys needed to
 * decide cannot be fetched.
 */
/**
 * A verified token as cached: the verdict plus what it depends on (see the
 * module comment). `keys` is the key-set snapshot (each set's `keys` array)
 * the verifying key was found in; when a set is refetched its array changes
 * and the key's presence is checked again.
 */
interface CachedJwt {
  readonly ok: true;
  readonly value: VerifiedJwt;
  readonly provider: Provider;
  /** The public key that verified it (null: HMAC with a client secret, bound by the policy id). */
  readonly key: VerificationKey | null;
  keys: ReadonlyArray<readonly VerificationKey[]>;
}

/** The verified-token cache key: SHA-256 of policy, issuer and token (the same value cacheKey('jwt', …) gives). */
function jwtKey(policy: JwtPolicy, issuer: string, token: string): string {
  return hash('sha256', 'jwt\0' + policy.id + '\0' + issuer + '\0' + token, 'base64url');
}

function snapshotOf(sets: readonly RemoteKeySet[]): Array<readonly VerificationKey[]> {
  const out: Array<readonly VerificationKey[]> = new Array(sets.length);
  for (let i = 0; i < sets.length; i++) out[i] = sets[i]!.keys;
  return out;
}

/** Is the cached verdict still backed by the provider and key that produced it? */
function stillBacked(e: CachedJwt, provider: Provider, policy: JwtPolicy): boolean {
  if (e.provider !== provider) return false;
  if (e.key === null) return true;
  const sets = provider.keySets;
  let same = e.keys.length === sets.length;
  for (let i = 0; same && i < sets.length; i++) if (sets[i]!.keys !== e.keys[i]) same = false;
  if (!same) {
    // A set was refetched: the verdict stands only if its key is still published.
    let found = false;
    for (let i = 0; !found && i < sets.length; i++) found = sets[i]!.keys.includes(e.key);
    if (!found) return false;
    e.keys = snapshotOf(sets);
  }
  // Hits must keep the key sets' max-age refresh going, as findKeys would on a miss.
  const now = Date.now();
  for (let i = 0; i < sets.length; i++) sets[i]!.refreshIfStale(policy.http, policy.cooldownMs, now);
  return true;
}

/**
 * The verified-token cache alone: the verified JWT when this exact token was
 * verified under this policy and provider and the verdict still holds; null
 * otherwise (the caller goes on to the full check). Never throws.
 */
export function cachedJwt(token: string, policy: JwtPolicy, provider: Provider): VerifiedJwt | null {
  if (token.length > MAX_TOKEN_BYTES) return null;
  const key = jwtKey(policy, provider.issuer, token);
  const hit = caches.verifiedJwt.get(key) as CachedJwt | undefined;
  if (hit === undefined || hit.ok !== true || hit.provider === undefined) return null;
  if (!stillBacked(hit, provider, policy)) {
    caches.verifiedJwt.delete(key);
    return null;
  }
  return hit.value;
}

/**
 * Verify a JWT access token. Returns the verified token; throws a Rejection
 * (401) when it is not acceptable, or IdpUnavailable when the keys needed to
 * decide cannot be fetched.
 */
export async function verifyJwt(token: string, policy: JwtPolicy, provider: Provider, cache: CachePolicy | null): Promise<VerifiedJwt> {
  if (token.length > MAX_TOKEN_BYTES) throw invalid('token is too large');
  if (cache !== null) {
    const hit = cachedJwt(token, policy, provider);
    if (hit !== null) return hit;
  }

  let header: JWTHeaderParameters;
  try {
    header = decodeProtectedHeader(token) as JWTHeaderParameters;
  } catch {
    throw invalid('malformed token');
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '' || alg.toLowerCase() === 'none') throw invalid('algorithm none is not allowed');
  for (const h of FORBIDDEN_HEADERS) {
    if ((header as Record<string, unknown>)[h] !== undefined) throw invalid(`'${h}' header is not allowed`);
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') throw invalid('malformed kid');

  let keys: Array<KeyObject | Uint8Array>;
  let jwks: Array<JWK | null>;
  let vkeys: Array<VerificationKey | null>;
  if (HMAC_ALGS.has(alg)) {
    if (!policy.enableHs || policy.hmacSecrets.length === 0) throw invalid(`algorithm ${alg} is not allowed`);
    keys = [...policy.hmacSecrets];
    jwks = keys.map(() => null);
    vkeys = keys.map(() => null);
  } else {
    if (!provider.asymmetricAlgs.has(alg)) throw invalid(`algorithm ${alg} is not allowed`);
    const found = await findKeys(provider.keySets, policy.http, policy.cooldownMs, alg, header.kid);
    if (found.length === 0) throw invalid(header.kid !== undefined ? 'signing key was not found' : 'no signing key matches');
    keys = [];
    jwks = [];
    vkeys = [];
    for (const k of found) {
      try {
        keys.push(await importedKey(k, alg));
        jwks.push(k.jwk);
        vkeys.push(k);
      } catch {
        // a JWK the runtime cannot import is skipped, not fatal
      }
    }
    if (keys.length === 0) throw invalid('signing key cannot be used');
  }

  const issuers = [provider.issuer, ...policy.issuersAllowed];
  let lastErr: unknown = null;
  for (let i = 0; i < keys.length; i++) {
    try {
      const { payload } = await jwtVerify(token, keys[i]!, { algorithms: [alg], issuer: issuers, clockTolerance: policy.leewaySec });
      const now = Math.floor(Date.now() / 1000);
      if (typeof payload.iat === 'number' && payload.iat > now + policy.leewaySec) throw invalid('iat claim is in the future');
      // Frozen all the way down: a cached verification is shared by every request presenting the token.
      const verified: VerifiedJwt = Object.freeze({ header: deepFreeze(header), payload: deepFreeze(payload), jwk: jwks[i] ?? null });
      if (cache !== null) {
        const exp = typeof payload.exp === 'number' ? payload.exp + policy.leewaySec : null;
        let ttl = exp !== null ? exp * 1000 - Date.now() : cache.defaultTtlMs;
        if (ttl > cache.defaultTtlMs && exp === null) ttl = cache.defaultTtlMs;
        if (cache.maxTtlMs !== null && ttl > cache.maxTtlMs) ttl = cache.maxTtlMs;
        const vkey = vkeys[i] ?? null;
        const snapshot = snapshotOf(provider.keySets);
        // A set refetched while we verified and no longer holding the key: do not cache the verdict.
        if (vkey === null || snapshot.some((ks) => ks.includes(vkey))) {
          const entry: CachedJwt = { ok: true, value: verified, provider, key: vkey, keys: snapshot };
          caches.verifiedJwt.set(jwtKey(policy, provider.issuer, token), entry, ttl);
        }
      }
      return verified;
    } catch (err) {
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
        lastErr = err;
        continue;
      }
      if (err instanceof Error && err.name === 'Rejection') throw err;
      throw rejectionFor(err);
    }
  }
  throw rejectionFor(lastErr);
}
