/** Kong's utils.random_string(): 32 hex characters from 16 random bytes (the `auto` value of credential fields). */
import { randomBytes } from 'node:crypto';

export function randomKey(): string {
  return randomBytes(16).toString('hex');
}
