/**
 * Fixed windows as Kong counts them (kong/tools/timestamp.lua get_timestamps,
 * kong/plugins/rate-limiting/expiration.lua): each period's window starts at
 * the current UTC second, minute, hour, day, first of the month and first of
 * the year. Window lengths (for key expiry and the Reset header) are Kong's
 * fixed ones: a month is 30 days, a year 365 days.
 *
 * Kong reads the clock in whole seconds (`ngx.time() * 1000`); so do we.
 */
import type { Period } from './schema.ts';

export const PERIOD_INDEX: Readonly<Record<Period, number>> = { second: 0, minute: 1, hour: 2, day: 3, month: 4, year: 5 };

/** Window length in seconds, by period index. */
export const WINDOW_SECONDS: readonly number[] = [1, 60, 3600, 86400, 2592000, 31536000];

/** Start (ms) of each period's current window, by period index; recomputed at most once a second. */
const starts = [0, 0, 0, 0, 0, 0];
let startsFor = -1;
let dayStart = -1;

/** Current time in ms, truncated to the second (Kong's `ngx.time() * 1000`). */
export function nowMs(): number {
  return Math.floor(Date.now() / 1000) * 1000;
}

export function periodStarts(now: number): readonly number[] {
  if (now === startsFor) return starts;
  startsFor = now;
  starts[0] = now;
  starts[1] = now - (now % 60_000);
  starts[2] = now - (now % 3_600_000);
  const day = now - (now % 86_400_000);
  starts[3] = day;
  if (day !== dayStart) {
    dayStart = day;
    const d = new Date(day);
    starts[4] = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    starts[5] = Date.UTC(d.getUTCFullYear(), 0, 1);
  }
  return starts;
}
