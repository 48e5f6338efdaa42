/**
 * Remote JSON Web Key Sets (RFC 7517 §5), cached the way jose's
 * createRemoteJWKSet caches them, with one deliberate difference: keys
 * survive an IdP outage.
 *
 * - max-age: a set is fresh for the response's Cache-Control max-age
 *   (bounded to [1 min, 1 day]; 10 min when absent). A stale set keeps
 *   serving while one background request refreshes it; if the refresh fails
 *   the old keys stay (jose would fail verification instead).
 * - unknown `kid`: one refetch, awaited, unless the set was fetched less than
 *   `cooldown` ago (Kong's `rediscovery_lifetime`, default 30 s) — so a token
 *   with a made-up kid cannot make the gateway hammer the IdP.
 * - single in-flight fetch per URL.
 * Module-level, keyed by URL: key rotation at the IdP needs no restart and
 * recompiling a plugin keeps the keys warm.
 */
import { importJWK, type JWK } from 'jose';
import type { KeyObject } from 'node:crypto';
import { IdpUnavailable, jsonObject, maxAgeMs, send, type HttpPolicy } from './http.ts';

const DEFAULT_MAX_AGE_MS = 10 * 60_000;
const MIN_MAX_AGE_MS = 60_000;
const MAX_MAX_AGE_MS = 24 * 3600_000;

/** A public verification key with the JWK it came from. */
export interface VerificationKey {
  readonly jwk: JWK;
  readonly kid: string | undefined;
  /** The JWK's `alg` when it pins one. */
  readonly alg: string | undefined;
  readonly kty: string;
  /** Imported KeyObject per algorithm (a key may serve RS256 and PS256). */
  readonly imported: Map<string, Promise<KeyObject | Uint8Array>>;
}

/** Process a JWKS response body (RFC 7517 §5): signing keys only, private members dropped. */
export function processJwksResponse(body: Record<string, unknown>): VerificationKey[] {
  const keys = body.keys;
  if (!Array.isArray(keys)) throw new IdpUnavailable('jwks', 'JWKS document has no keys array');
  const out: VerificationKey[] = [];
  for (const k of keys) {
    if (k === null || typeof k !== 'object') continue;
    const jwk = k as JWK & { use?: string; key_ops?: string[] };
    if (typeof jwk.kty !== 'string') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) continue;
    // Symmetric keys never come from a public JWKS: a published "oct" key is ignored on purpose.
    if (jwk.kty === 'oct') continue;
    const pub: JWK = { ...jwk };
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) delete (pub as Record<string, unknown>)[priv];
    // Frozen: shared by every verification (and its header encoding cached, claims.ts).
    Object.freeze(pub);
    for (const v of Object.values(pub)) if (v !== null && typeof v === 'object') Object.freeze(v);
    out.push({ jwk: pub, kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, alg: typeof jwk.alg === 'string' ? jwk.alg : undefined, kty: jwk.kty, imported: new Map() });
  }
  return out;
}

/** Which key types can verify which JWS algorithms (RFC 7518 §3.1, RFC 8037). */
export function ktyForAlg(alg: string): string | null {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return 'RSA';
  if (alg.startsWith('ES')) return 'EC';
  if (alg === 'EdDSA' || alg === 'Ed25519') return 'OKP';
  return null;
}

export class RemoteKeySet {
  readonly url: string;
  keys: VerificationKey[] = [];
  fetchedAt = 0;
  maxAgeMs = DEFAULT_MAX_AGE_MS;
  lastFailureAt = 0;
  lastFailure: IdpUnavailable | null = null;
  private inflight: Promise<void> | null = null;
  /** Fetches so far (tests assert "one refetch on unknown kid"). */
  fetchCount = 0;

  constructor(url: string) {
    this.url = url;
  }

  get loaded(): boolean {
    return this.fetchedAt > 0;
  }

  reload(http: HttpPolicy): Promise<void> {
    if (this.inflight !== null) return this.inflight;
    this.fetchCount++;
    const p = (async () => {
      try {
        const res = await send('jwks', http, { method: 'GET', url: this.url, headers: { accept: 'application/jwk-set+json, application/json' } });
        if (res.status !== 200) throw new IdpUnavailable('jwks', `JWKS answered ${res.status}`, res.status);
        const keys = processJwksResponse(jsonObject('jwks', res));
        // Keep imported KeyObjects for keys that did not change (same JSON).
        const previous = new Map(this.keys.map((k) => [JSON.stringify(k.jwk), k]));
        this.keys = keys.map((k) => previous.get(JSON.stringify(k.jwk)) ?? k);
        this.fetchedAt = Date.now();
        const ma = maxAgeMs(res.headers);
        this.maxAgeMs = ma === null ? DEFAULT_MAX_AGE_MS : Math.min(Math.max(ma, MIN_MAX_AGE_MS), MAX_MAX_AGE_MS);
        this.lastFailure = null;
      } catch (err) {
        this.lastFailureAt = Date.now();
        this.lastFailure = err instanceof IdpUnavailable ? err : new IdpUnavailable('jwks', `JWKS fetch failed: ${(err as Error).message}`);
        throw this.lastFailure;
      } finally {
        this.inflight = null;
      }
    })();
    this.inflight = p;
    return p;
  }

  /** Ensure keys are loaded; refresh stale ones in the background. Throws when none could ever be loaded. */
  async ready(http: HttpPolicy, cooldownMs: number, now = Date.now()): Promise<void> {
    if (!this.loaded) {
      if (this.lastFailure !== null && now - this.lastFailureAt < cooldownMs && this.inflight === null) throw this.lastFailure;
      await this.reload(http);
      return;
    }
    if (now - this.fetchedAt >= this.maxAgeMs && this.inflight === null && now - this.lastFailureAt >= cooldownMs) {
      this.reload(http).catch(() => undefined);
    }
  }

  /**
   * The synchronous part of `ready` for a loaded set: start the background
   * refresh when the set is past its max-age (verified-token cache hits call
   * this, so a repeated token never freezes the keys it depends on).
   */
  refreshIfStale(http: HttpPolicy, cooldownMs: number, now: number): void {
    if (this.fetchedAt > 0 && now - this.fetchedAt >= this.maxAgeMs && this.inflight === null && now - this.lastFailureAt >= cooldownMs) {
      this.reload(http).catch(() => undefined);
    }
  }

  /** May an unknown kid trigger a refetch now? */
  canRefetch(cooldownMs: number, now = Date.now()): boolean {
    return now - Math.max(this.fetchedAt, this.lastFailureAt) >= cooldownMs;
  }
}

const sets = new Map<string, RemoteKeySet>();

/** The shared key set for a JWKS URL. */
export function keySet(url: string): RemoteKeySet {
  let s = sets.get(url);
  if (s === undefined) {
    s = new RemoteKeySet(url);
    sets.set(url, s);
  }
  return s;
}

/** Forget cached key sets (Admin DELETE /openid-connect/issuers). */
export function clearKeySets(urls?: readonly string[]): void {
  if (urls === undefined) sets.clear();
  else for (const u of urls) sets.delete(u);
}

/** Keys from these sets that could have signed a token with this header. */
export function candidates(setsToSearch: readonly RemoteKeySet[], alg: string, kid: string | undefined): VerificationKey[] {
  const kty = ktyForAlg(alg);
  const out: VerificationKey[] = [];
  if (kty === null) return out;
  for (const s of setsToSearch) {
    for (const k of s.keys) {
      if (k.kty !== kty) continue;
      if (kid !== undefined && k.kid !== kid) continue;
      if (k.alg !== undefined && k.alg !== alg) continue;
      out.push(k);
    }
  }
  return out;
}

/** The KeyObject for verifying `alg` with this JWK (imported once). */
export function importedKey(k: VerificationKey, alg: string): Promise<KeyObject | Uint8Array> {
  let p = k.imported.get(alg);
  if (p === undefined) {
    p = importJWK(k.jwk, alg) as Promise<KeyObject | Uint8Array>;
    k.imported.set(alg, p);
  }
  return p;
}

/**
 * Find keys for (alg, kid) across the sets, doing the one permitted refetch
 * when none matches. Returns [] when no key matches even after that (the
 * token is then refused); throws IdpUnavailable when no set could be loaded
 * at all or the refetch needed to decide failed (could not check ≠ rejected).
 */
export async function findKeys(setsToSearch: readonly RemoteKeySet[], http: HttpPolicy, cooldownMs: number, alg: string, kid: string | undefined): Promise<VerificationKey[]> {
  let loaded = 0;
  let failure: IdpUnavailable | null = null;
  for (const s of setsToSearch) {
    try {
      await s.ready(http, cooldownMs);
      loaded++;
    } catch (err) {
      failure = err as IdpUnavailable;
    }
  }
  if (loaded === 0 && failure !== null) throw failure;
  let found = candidates(setsToSearch, alg, kid);
  if (found.length > 0) return found;

  // Unknown kid: maybe the IdP rotated its keys. One refetch per set, outside the cooldown.
  const refetches: Promise<void>[] = [];
  for (const s of setsToSearch) {
    if (s.canRefetch(cooldownMs)) refetches.push(s.reload(http).catch((err: unknown) => void (failure = err as IdpUnavailable)));
  }
  if (refetches.length === 0) return found;
  failure = null;
  await Promise.all(refetches);
  found = candidates(setsToSearch, alg, kid);
  if (found.length === 0 && failure !== null) throw failure;
  return found;
}
