/**
 * The short-lived `authorization` cookie of the authorization code flow: it
 * carries `state` (RFC 6749 §10.12), `nonce` (OIDC Core §3.1.2.1), the PKCE
 * `code_verifier` (RFC 7636) and the URL to return to, from the redirect to
 * the IdP until the callback — Kong keeps the same data in its
 * `authorization_cookie_name` cookie ("authorization", rolling timeout 600 s).
 *
 * Value: base64url( version(1) | iv(12) | AES-256-GCM(ciphertext) | tag(16) ).
 * The key is HKDF-SHA256 of SHA-256(secret) with a purpose-specific salt and
 * info, so it differs from every session key; the plaintext is JSON
 * `{ "d": data, "exp": epoch seconds }`. Anything that does not decrypt,
 * parse, or is past `exp` opens as null — never an exception.
 */
import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ikmOf } from './crypto.ts';

const VERSION = 1;
const SALT = Buffer.from('portcullis authorization state');
const INFO = Buffer.from('aes-256-gcm v1');
const AAD = Buffer.from([VERSION, ...Buffer.from('authorization')]);
/** Longest value we try to open (a cookie is at most 4 KiB anyway). */
const MAX_VALUE = 8192;

/** What the code flow keeps between the redirect and the callback. */
export interface AuthorizationState {
  state: string;
  nonce?: string;
  code_verifier?: string;
  /** The original request URL to return to after login. */
  original_url?: string;
  [extra: string]: unknown;
}

const keys = new Map<string, Buffer>();

function keyFor(secret: string): Buffer {
  let k = keys.get(secret);
  if (k === undefined) {
    k = Buffer.from(hkdfSync('sha256', ikmOf(secret), SALT, INFO, 32));
    if (keys.size > 64) keys.clear();
    keys.set(secret, k);
  }
  return k;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Encrypts `data` for `ttl` seconds from `now` (epoch seconds). */
export function sealAuthorizationState(data: object, secret: string, ttl: number, now: number = nowSeconds()): string {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('authorization state needs a secret');
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new TypeError('authorization state must be an object');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(secret), iv);
  cipher.setAAD(AAD);
  const plaintext = Buffer.from(JSON.stringify({ d: data, exp: Math.floor(now + ttl) }), 'utf8');
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, ct, cipher.getAuthTag()]).toString('base64url');
}

/**
 * Decrypts a value made by sealAuthorizationState with `secret` (or one of
 * `fallbacks`); null when missing, tampered, sealed with another secret,
 * malformed or expired at `now`.
 */
export function openAuthorizationState<T = AuthorizationState>(
  value: string | undefined | null,
  secret: string,
  now: number = nowSeconds(),
  fallbacks: readonly string[] = [],
): T | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE || !/^[A-Za-z0-9_-]+$/.test(value)) return null;
  const raw = Buffer.from(value, 'base64url');
  if (raw.length < 1 + 12 + 16 + 2 || raw[0] !== VERSION) return null;
  const iv = raw.subarray(1, 13);
  const tag = raw.subarray(raw.length - 16);
  const ct = raw.subarray(13, raw.length - 16);
  for (const s of [secret, ...fallbacks]) {
    if (typeof s !== 'string' || s === '') continue;
    try {
      const decipher = createDecipheriv('aes-256-gcm', keyFor(s), iv);
      decipher.setAAD(AAD);
      decipher.setAuthTag(tag);
      const plain = JSON.parse(Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8')) as unknown;
      if (plain === null || typeof plain !== 'object') return null;
      const { d, exp } = plain as { d?: unknown; exp?: unknown };
      if (typeof exp !== 'number' || now >= exp) return null;
      if (d === null || typeof d !== 'object' || Array.isArray(d)) return null;
      return d as T;
    } catch {
      // wrong key or tampered: try the next secret
    }
  }
  return null;
}
