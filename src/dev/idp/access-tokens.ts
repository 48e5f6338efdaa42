/**
 * JWT access tokens, Keycloak style.
 *
 * oidc-provider can only introspect, revoke and serve userinfo for its own
 * opaque access tokens (it refuses structured tokens at those endpoints), yet
 * Keycloak — the IdP of Kong's walkthrough — hands out JWT access tokens that
 * work everywhere. So the provider keeps issuing opaque tokens internally, and
 * every token response swaps the opaque value for an RS256 JWT minted here from
 * the same stored token (same `exp`/`iat`, Keycloak claims from
 * `extraTokenClaims`). The JWT's `jti` is an alias of the opaque value, so the
 * introspection (RFC 7662), revocation (RFC 7009) and userinfo endpoints can
 * translate a presented JWT back to the token the provider knows: revoking one
 * revokes the other, and introspection of a revoked JWT says `active: false`.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, importJWK, decodeProtectedHeader, type JWTPayload, type JWTHeaderParameters } from 'jose';
import type { KeyRing } from './keys.ts';

interface Alias {
  opaque: string;
  /** epoch seconds */
  exp: number;
}

const SWEEP_EVERY = 256;

export class AccessTokenMinter {
  readonly issuer: string;
  readonly #keys: KeyRing;
  readonly #aliases = new Map<string, Alias>();
  #mintedSinceSweep = 0;

  constructor(issuer: string, keys: KeyRing) {
    this.issuer = issuer;
    this.#keys = keys;
  }

  /**
   * Sign `claims` (which must carry `exp` and `iat`) as a JWT access token with
   * the current signing key. When `opaque` is given, the new `jti` becomes an
   * alias for it. `jti`/`iss` in `claims` win (for deliberately odd test tokens).
   */
  async mint(claims: Record<string, unknown>, opaque?: string): Promise<string> {
    const { kid, key } = await this.#keys.signingKey();
    const jti = typeof claims.jti === 'string' ? claims.jti : randomUUID();
    const payload: JWTPayload = { ...claims, jti, iss: typeof claims.iss === 'string' ? claims.iss : this.issuer };
    if (opaque !== undefined && typeof payload.exp === 'number') {
      this.#aliases.set(jti, { opaque, exp: payload.exp });
      if (++this.#mintedSinceSweep >= SWEEP_EVERY) this.#sweep();
    }
    // Keycloak's access tokens carry `typ: JWT` in the header (not RFC 9068's at+jwt).
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key);
  }

  /**
   * The opaque token a JWT access token stands for, if the JWT is one of ours
   * (signature by a published key, our issuer) and its alias is known.
   * Expiry is left to the provider, which holds the same `exp`.
   */
  async resolve(token: string): Promise<string | undefined> {
    let header: JWTHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as JWTHeaderParameters;
    } catch {
      return undefined;
    }
    const found = this.#keys.findPublic(header.kid);
    if (found === undefined || header.alg !== 'RS256') return undefined;
    try {
      const key = await importJWK(found.publicJwk, 'RS256');
      const { payload } = await jwtVerify(token, key, {
        issuer: this.issuer,
        algorithms: ['RS256'],
        // Expired tokens still resolve so the provider answers `active: false` itself.
        currentDate: new Date(0),
      });
      if (typeof payload.jti !== 'string') return undefined;
      return this.#aliases.get(payload.jti)?.opaque;
    } catch {
      return undefined;
    }
  }

  /** Does the string look like a compact JWS? (Cheap check before `resolve`.) */
  static looksLikeJwt(value: unknown): value is string {
    return typeof value === 'string' && value.split('.').length === 3 && value.length > 20;
  }

  #sweep(): void {
    this.#mintedSinceSweep = 0;
    const now = Math.floor(Date.now() / 1000);
    for (const [jti, alias] of this.#aliases) if (alias.exp < now) this.#aliases.delete(jti);
  }
}
