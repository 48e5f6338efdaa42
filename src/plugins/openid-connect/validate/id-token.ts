/**
 * ID Token validation (OpenID Connect Core 1.0 §3.1.3.7) on top of the JWT
 * checks in jwt.ts (signature, alg allow-list, iss, exp/nbf/iat):
 * - `aud` contains our client_id (step 3);
 * - with several audiences, `azp` is present and is our client_id (steps 4–5);
 * - `nonce` equals the one sent in the authorization request (§3.1.3.7 step
 *   11, `verify_nonce`);
 * - `auth_time` within `max_age` when configured (step 13);
 * - `hd` in `domains` when configured (Kong's Google hosted-domain check).
 */
import type { JWTPayload } from 'jose';
import type { CachePolicy } from '../cache.ts';
import { unauthorized } from '../errors.ts';
import type { Provider } from '../provider.ts';
import { verifyJwt, type JwtPolicy, type VerifiedJwt } from './jwt.ts';

export interface IdTokenChecks {
  clientId: string | null;
  /** Expected nonce, or null to skip (verify_nonce false, or no authorization request). */
  nonce: string | null;
  maxAgeSec: number | null;
  domains: readonly string[] | null;
  leewaySec: number;
}

function invalid(detail: string) {
  return unauthorized(`invalid id token (${detail})`);
}

/** Pure claim checks on an already signature-verified ID token payload. */
export function checkIdTokenClaims(payload: JWTPayload, checks: IdTokenChecks, now = Math.floor(Date.now() / 1000)): void {
  if (checks.clientId !== null) {
    const aud = payload.aud;
    const auds = Array.isArray(aud) ? aud : typeof aud === 'string' ? [aud] : [];
    if (!auds.includes(checks.clientId)) throw invalid('aud does not contain the client id');
    if (auds.length > 1 && payload.azp !== checks.clientId) throw invalid('azp is not the client id');
    if (payload.azp !== undefined && payload.azp !== checks.clientId) throw invalid('azp is not the client id');
  }
  if (typeof payload.exp !== 'number') throw invalid('exp claim is missing');
  if (checks.nonce !== null && payload.nonce !== checks.nonce) throw invalid('nonce mismatch');
  if (checks.maxAgeSec !== null) {
    const authTime = payload.auth_time;
    if (typeof authTime !== 'number') throw invalid('auth_time claim is missing');
    if (authTime + checks.maxAgeSec + checks.leewaySec < now) throw invalid('authentication is older than max_age');
  }
  if (checks.domains !== null && checks.domains.length > 0) {
    if (typeof payload.hd !== 'string' || !checks.domains.includes(payload.hd)) throw invalid('hd claim is not an allowed domain');
  }
}

/** Verify an ID token fully. Throws a 401 Rejection, or IdpUnavailable when keys cannot be fetched. */
export async function verifyIdToken(token: string, policy: JwtPolicy, provider: Provider, checks: IdTokenChecks, cache: CachePolicy | null): Promise<VerifiedJwt> {
  let verified: VerifiedJwt;
  try {
    verified = await verifyJwt(token, policy, provider, cache);
  } catch (err) {
    if (err instanceof Error && err.name === 'Rejection') throw invalid((err as Error).message.replace(/^invalid jwt token \(|\)$/g, ''));
    throw err;
  }
  checkIdTokenClaims(verified.payload, checks);
  return verified;
}
