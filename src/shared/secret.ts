import { randomBytes } from 'node:crypto';

/** A random 32-byte secret, base64url. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}
