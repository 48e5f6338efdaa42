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
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { KeyObject } from 'node:crypto';
import { cacheKey, caches, type CachePolicy, type Verdict } from '../cache.ts';
import { TOKEN_EXPIRED_DESCRIPTION, unauthorized } from '../errors.ts';
import type { HttpPolicy } from '../http.ts';
import { findKeys, importedKey } from '../jwks.ts';
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
export async function verifyJwt(token: string, policy: JwtPolicy, provider: Provider, cache: CachePolicy | null): Promise<VerifiedJwt> {
  if (token.length > MAX_TOKEN_BYTES) throw invalid('token is too large');
  const key = cache !== null ? cacheKey('jwt', policy.id, provider.issuer, token) : '';
  if (cache !== null) {
    const hit = caches.verifiedJwt.get(key) as Verdict<VerifiedJwt> | undefined;
    if (hit !== undefined && hit.ok) return hit.value;
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
  if (HMAC_ALGS.has(alg)) {
    if (!policy.enableHs || policy.hmacSecrets.length === 0) throw invalid(`algorithm ${alg} is not allowed`);
    keys = [...policy.hmacSecrets];
    jwks = keys.map(() => null);
  } else {
    if (!provider.asymmetricAlgs.has(alg)) throw invalid(`algorithm ${alg} is not allowed`);
    const found = await findKeys(provider.keySets, policy.http, policy.cooldownMs, alg, header.kid);
    if (found.length === 0) throw invalid(header.kid !== undefined ? 'signing key was not found' : 'no signing key matches');
    keys = [];
    jwks = [];
    for (const k of found) {
      try {
        keys.push(await importedKey(k, alg));
        jwks.push(k.jwk);
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
      const verified: VerifiedJwt = Object.freeze({ header: header, payload, jwk: jwks[i] ?? null });
      if (cache !== null) {
        const exp = typeof payload.exp === 'number' ? payload.exp + policy.leewaySec : null;
        let ttl = exp !== null ? exp * 1000 - Date.now() : cache.defaultTtlMs;
        if (ttl > cache.defaultTtlMs && exp === null) ttl = cache.defaultTtlMs;
        if (cache.maxTtlMs !== null && ttl > cache.maxTtlMs) ttl = cache.maxTtlMs;
        caches.verifiedJwt.set(key, { ok: true, value: verified }, ttl);
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
