/**
 * The clock seam (issue 12): wall time, monotonic time and timers read
 * through one module, so tests can control time.
 *
 * - `clock.now()` (wall ms, Date.now), `clock.setTimeout/clearTimeout`,
 *   `clock.setInterval/clearInterval` look the global functions up at call
 *   time, so node:test's `mock.timers.enable({ apis: ['Date', 'setTimeout',
 *   'setInterval'] })` controls them without any other hook.
 * - `clock.monotonic()` (ms, performance.now, which mock.timers does not
 *   mock): tests replace it with `installClock({ monotonic })`.
 * - `idleSweep`: the process's ONE idle sweeper. Whatever closes things left
 *   idle — fast-lane client connections, upstream keep-alive sockets, unused
 *   upstream pools — records `idleSweep.tick` (an integer read, no clock read on
 *   the hot path) when it goes idle and is called once a tick (SWEEP_MS) while
 *   it has something to watch. One native timer for the process, running only
 *   while something is watched.
 */

import { performance } from 'node:perf_hooks';

export type Timer = ReturnType<typeof globalThis.setTimeout>;

export interface Clock {
  /** Wall-clock milliseconds since the epoch (Date.now). */
  now(): number;
  /** Monotonic milliseconds (performance.now): for durations. */
  monotonic(): number;
  setTimeout<A extends unknown[]>(fn: (...args: A) => void, ms: number, ...args: A): Timer;
  clearTimeout(t: Timer | null | undefined): void;
  setInterval(fn: () => void, ms: number): Timer;
  clearInterval(t: Timer | null | undefined): void;
}

const system: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms, ...args) => globalThis.setTimeout(fn, ms, ...args),
  clearTimeout: (t) => globalThis.clearTimeout(t ?? undefined),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (t) => globalThis.clearInterval(t ?? undefined),
};

/** The clock every module reads. Its methods may be replaced by installClock (tests only). */
export const clock: Clock = { ...system };

/** Replace parts of the clock (tests); returns a function that restores the system clock. */
export function installClock(overrides: Partial<Clock>): () => void {
  Object.assign(clock, overrides);
  return () => {
    Object.assign(clock, system);
  };
}

/** Something the idle sweep calls once a tick; returns false when it has nothing left to watch. */
export interface Sweepable {
  sweep(tick: number): boolean;
}

/** The sweep interval: idle limits are kept to within one of these. */
export const SWEEP_MS = 1000;

export class IdleSweep {
  /** Sweeps so far: a coarse monotonic clock in SWEEP_MS units. */
  tick: number;
  private readonly watched: Set<Sweepable>;
  private timer: Timer | null;

  constructor() {
    this.tick = 0;
    this.watched = new Set();
    this.timer = null;
  }

  /** Call `s.sweep(tick)` every tick until it returns false. Watching twice is watching once. */
  watch(s: Sweepable): void {
    this.watched.add(s);
    if (this.timer === null) {
      this.timer = clock.setInterval(() => this.run(), SWEEP_MS);
      this.timer.unref();
    }
  }

  unwatch(s: Sweepable): void {
    this.watched.delete(s);
    if (this.watched.size === 0) this.stop();
  }

  /** One sweep (exported for tests that drive it without waiting). */
  run(): void {
    const tick = ++this.tick;
    for (const s of this.watched) if (!s.sweep(tick)) this.watched.delete(s);
    if (this.watched.size === 0) this.stop();
  }

  /** Whether the native timer runs (tests, diagnostics). */
  get running(): boolean {
    return this.timer !== null;
  }

  private stop(): void {
    if (this.timer !== null) {
      clock.clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export const idleSweep = new IdleSweep();
