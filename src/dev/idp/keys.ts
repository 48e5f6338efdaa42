/**
 * The IdP's signing key ring. The first key signs (ID tokens and access
 * tokens); older keys stay published in the JWKS after a rotation so tokens
 * they signed keep verifying, until `dropOld()` — the two halves of a real
 * rollover (RFC 7517 §5: a JWK Set may hold several keys, selected by `kid`).
 */
import { generateKeyPair, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { importJWK, type JWK } from 'jose';

type ImportedKey = Awaited<ReturnType<typeof importJWK>>;

const generate = promisify(generateKeyPair);

export interface SigningKey {
  kid: string;
  /** Private JWK (RSA, with alg RS256, use sig). */
  privateJwk: JWK & { kid: string };
  /** Public JWK as published. */
  publicJwk: JWK & { kid: string };
  /** Lazily imported key object for jose. */
  key: ImportedKey | null;
}

async function newRsaKey(): Promise<SigningKey> {
  const { privateKey } = await generate('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = randomUUID();
  const privateJwk = { ...jwk, kid, alg: 'RS256', use: 'sig' };
  const publicJwk: JWK & { kid: string } = { kty: 'RSA', n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' };
  return { kid, privateJwk, publicJwk, key: null };
}

export class KeyRing {
  #keys: SigningKey[] = [];

  static async create(): Promise<KeyRing> {
    const ring = new KeyRing();
    ring.#keys = [await newRsaKey()];
    return ring;
  }

  /** The key that signs new tokens. */
  get current(): SigningKey {
    const k = this.#keys[0];
    if (k === undefined) throw new Error('key ring is empty');
    return k;
  }

  get all(): readonly SigningKey[] {
    return this.#keys;
  }

  /** Private JWKS for oidc-provider's `jwks` option: the signing key first (it picks the first match). */
  privateJwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => ({ ...k.privateJwk })) };
  }

  publicJwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => ({ ...k.publicJwk })) };
  }

  async rotate(): Promise<SigningKey> {
    const next = await newRsaKey();
    this.#keys = [next, ...this.#keys];
    return next;
  }

  dropOld(): void {
    this.#keys = [this.current];
  }

  async signingKey(): Promise<{ kid: string; key: ImportedKey }> {
    const k = this.current;
    if (k.key === null) k.key = await importJWK(k.privateJwk, 'RS256');
    return { kid: k.kid, key: k.key };
  }

  findPublic(kid: string | undefined): SigningKey | undefined {
    return this.#keys.find((k) => k.kid === kid);
  }
}
