/**
 * Request ids: 32 lower-case hex characters, the shape of nginx's
 * `$request_id` that Kong 3.5+ sends as `X-Kong-Request-Id`. Nothing a client
 * sends is trusted as an id (a client-chosen id could collide with, or forge,
 * another request's log lines).
 *
 * A random 64-bit prefix per process plus a 64-bit counter: unique across
 * workers and restarts, and far cheaper than a random UUID per request.
 */
import { randomBytes } from 'node:crypto';

let prefix = randomBytes(8).toString('hex');
let counter = 0;
const PAD = '0000000000000000';
/** Roll the prefix long before the counter loses integer precision. */
const MAX_COUNTER = 2 ** 48;

export function nextRequestId(): string {
  if (++counter === MAX_COUNTER) {
    prefix = randomBytes(8).toString('hex');
    counter = 1;
  }
  const hex = counter.toString(16);
  return prefix + PAD.slice(hex.length) + hex;
}
