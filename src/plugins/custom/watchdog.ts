/**
 * Which custom plugin blocked the event loop. In-process plugins share the
 * worker's one thread: a plugin that computes for 300 ms stalls every
 * request of that worker for 300 ms (Kong's plugin server gives process
 * isolation instead; see docs/plugins/writing-plugins.md, "Isolation").
 * We cannot pre-empt it, so we name it:
 *
 *  - every entry into a custom plugin's code (a phase call, every kong.* PDK
 *    call) marks "plugin P ran at t" (one assignment and a clock read);
 *  - the next mark in the same event-loop turn (no timer tick between them)
 *    measures how long P ran without yielding;
 *  - a timer ticking every TICK_MS catches a stall after the last mark of a
 *    turn (a loop at the end of a handler): the turn that started after the
 *    previous tick and ran past it is charged to the last plugin marked in it.
 *
 * Over BLOCK_WARN_MS, one warning log line names the plugin, the phase-free
 * duration and the count so far, at most once per plugin per second; the
 * per-plugin counts are exposed for tests and /metrics-style reporting.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

/** A plugin holding the event loop longer than this is reported. */
export const BLOCK_WARN_MS = 100;
const TICK_MS = 20;

let lastName: string | null = null;
let lastAt = 0;
let lastTick = 0;
let tick = 0;
let tickAt = 0;
let timer: NodeJS.Timeout | null = null;
let log: Logger | null = null;
const counts = new Map<string, number>();
const lastReport = new Map<string, number>();

/** Start watching (once per process, when the first custom plugin is compiled). */
export function startWatchdog(logger: Logger): void {
  log = logger;
  if (timer !== null) return;
  tickAt = performance.now();
  timer = setInterval(onTick, TICK_MS);
  timer.unref();
}

function onTick(): void {
  const now = performance.now();
  const lag = now - tickAt - TICK_MS;
  // The turn that held the loop began after the previous tick; its last mark names who ran in it.
  if (lag > BLOCK_WARN_MS && lastName !== null && lastTick === tick && lastAt >= tickAt) report(lastName, now - lastAt);
  tick++;
  tickAt = now;
  lastName = null;
}

/** Custom plugin `name` is about to run code (or just called into the PDK). */
export function mark(name: string): void {
  const now = performance.now();
  if (lastName !== null && lastTick === tick && now - lastAt > BLOCK_WARN_MS) report(lastName, now - lastAt);
  lastName = name;
  lastAt = now;
  lastTick = tick;
}

function report(name: string, ms: number): void {
  lastName = null; // charged once
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n);
  const now = Date.now();
  if (now - (lastReport.get(name) ?? 0) < 1000) return;
  lastReport.set(name, now);
  log?.warn({ plugin: name, blocked_ms: Math.round(ms), times: n }, `plugin '${name}' blocked the event loop for ${Math.round(ms)} ms (every request of this worker waited)`);
}

/** How often each plugin was caught blocking, in this process. */
export function blockCounts(): ReadonlyMap<string, number> {
  return counts;
}
