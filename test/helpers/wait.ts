/**
 * Waiting without fixed sleeps (issue 12): wait for a condition or an event,
 * never for a guessed number of milliseconds.
 *
 * - `waitFor(what, check)`: until `check()` holds, looked at after every turn of
 *   the event loop (setImmediate, so I/O callbacks run in between); fails with
 *   `what` after `ms` — a bound on a hang, not a timing window.
 * - `ioTurns(n)`: let n turns of the event loop run (I/O already under way on
 *   loopback — bytes written, a close sent — is delivered within a few). For
 *   "nothing else happened" checks after an event says the peer has acted.
 */
import assert from 'node:assert/strict';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function ioTurns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

export async function waitFor(what: string | (() => string), check: () => boolean, ms = 1500): Promise<number> {
  const start = performance.now();
  let turns = 0;
  while (!check()) {
    const spent = performance.now() - start;
    if (spent > ms) assert.fail(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    // Busy turns first (fast answers), then yield to timers too so that a waited-for timer can fire.
    if (++turns < 50) await turn();
    else await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return performance.now() - start;
}
