/**
 * Proof Key for Code Exchange (RFC 7636): a high-entropy `code_verifier`
 * (§4.1: 43–128 characters; 32 random bytes base64url = 43) and its S256
 * `code_challenge` (§4.2). `plain` is never used (§7.2).
 */
import { createHash, randomBytes } from 'node:crypto';

export function codeVerifier(): string {
  return randomBytes(32).toString('base64url');
}

export function codeChallengeS256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** A random value for `state` / `nonce` (RFC 6749 §10.12, OIDC Core §15.5.2): 128+ bits. */
export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}
