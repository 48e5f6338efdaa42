/**
 * Waiting without fixed sleeps (issue 12): wait for a condition or an event,
 * never for a guessed number of milliseconds.
 *
 * - `waitFor(what, check)`: until `check()` holds (it may be async), looked at
 *   after every turn of the event loop (setImmediate, so I/O callbacks run in
 *   between; after 50 turns, every `everyMs`, for checks that cost); fails with `what` after `ms` —
 *   a bound on a hang, not a timing window.
 * - `ioTurns(n)`: let n turns of the event loop run (I/O already under way on
 *   loopback — bytes written, a close sent — is delivered within a few). For
 *   "nothing else happened" checks after an event says the peer has acted.
 * - `withClockAhead(ms, fn)`: run `fn` with the clock seam (src/shared/clock.ts)
 *   of this process `ms` ahead — for ttl and expiry checks of an in-process
 *   gateway, instead of sleeping through them.
 */
import assert from 'node:assert/strict';
import { installClock } from '../../src/shared/clock.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function ioTurns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

export async function waitFor(what: string | (() => string), check: () => boolean | Promise<boolean>, ms = 1500, everyMs = 1): Promise<number> {
  const start = performance.now();
  let turns = 0;
  while (!(await check())) {
    const spent = performance.now() - start;
    if (spent > ms) assert.fail(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    // Busy turns first (fast answers), then yield to timers too so that a waited-for timer can fire.
    if (++turns < 50 && everyMs <= 1) await turn();
    else await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return performance.now() - start;
}

export async function withClockAhead<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const restore = installClock({ now: () => Date.now() + ms });
  try {
    return await fn();
  } finally {
    restore();
  }
}
