/**
 * Signature verification (Kong's jwt_parser verify_signature), done with
 * jose's compactVerify restricted to the one algorithm the credential names:
 * the token's own `alg` was already required to equal it (handler.lua
 * "Invalid algorithm"), and jose refuses a key of the wrong type for it (an
 * RSA public key is never used as an HMAC secret). `jku`, `x5u`, `jwk` and
 * `kid` headers are never followed: the key is the credential's, nothing else.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { compactVerify } from 'jose';

/** PEM → KeyObject, kept across requests (bounded; credentials change rarely). */
const publicKeys = new Map<string, KeyObject | null>();
const MAX_KEYS = 1000;

function publicKey(pem: Buffer): KeyObject | null {
  const id = pem.toString('latin1');
  let key = publicKeys.get(id);
  if (key !== undefined) return key;
  try {
    key = createPublicKey(pem);
  } catch {
    key = null;
  }
  if (publicKeys.size >= MAX_KEYS) publicKeys.clear();
  publicKeys.set(id, key);
  return key;
}

/** The key material for `algorithm`: HS* take the secret's bytes, the others a public key. null: unusable. */
export function verificationKey(algorithm: string, value: Buffer): Uint8Array | KeyObject | null {
  if (algorithm.startsWith('HS')) return value;
  return publicKey(value);
}

export async function signatureValid(token: string, algorithm: string, key: Uint8Array | KeyObject): Promise<boolean> {
  try {
    await compactVerify(token, key, { algorithms: [algorithm] });
    return true;
  } catch {
    return false;
  }
}
