/**
 * Trace and span ids (W3C Trace Context §3.2.2.3/§3.2.2.4: 16 and 8 random
 * bytes, never all zero), as lower-case hex. Random bytes are taken from a
 * pool filled 4 KiB at a time: one randomFillSync per ~170 spans instead of
 * one per id.
 */
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';

const POOL = Buffer.allocUnsafe(4096);
let offset = POOL.length;

function take(n: number): string {
  for (;;) {
    if (offset + n > POOL.length) {
      randomFillSync(POOL);
      offset = 0;
    }
    const start = offset;
    offset += n;
    for (let i = start; i < start + n; i++) if (POOL[i] !== 0) return POOL.toString('hex', start, start + n);
    // all zero: invalid, take the next bytes
  }
}

/** A new 16-byte trace id, 32 hex digits. */
export function newTraceId(): string {
  return take(16);
}

/** A new 8-byte span id, 16 hex digits. */
export function newSpanId(): string {
  return take(8);
}
