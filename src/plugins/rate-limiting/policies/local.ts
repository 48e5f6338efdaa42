/**
 * The `local` policy: counters in this process's memory.
 *
 * Kong's local policy counts per node (an nginx shared dict); Portcullis
 * counts per worker process, so with `--workers N` a client may get up to N
 * times the limit. Use `redis` for exact limits across workers and nodes.
 *
 * One bucket per period holds every counter of the current window; when the
 * window moves on, the whole bucket is replaced, so expired counters cost
 * nothing to drop and no timer is needed.
 */
interface Bucket {
  start: number;
  counts: Map<string, number>;
}

const buckets: Bucket[] = [];
for (let i = 0; i < 6; i++) buckets.push({ start: -1, counts: new Map() });

function bucket(periodIndex: number, start: number): Bucket {
  const b = buckets[periodIndex]!;
  // Windows only move forward: a request that read the clock just before the
  // turn is counted in the new window.
  if (start > b.start) {
    b.start = start;
    b.counts = new Map();
  }
  return b;
}

export function usage(periodIndex: number, start: number, key: string): number {
  return bucket(periodIndex, start).counts.get(key) ?? 0;
}

/**
 * Most counters one window keeps. Kong's shared dict is bounded too (LRU);
 * past this, the counter created first in the window is forgotten, so a flood
 * of distinct identifiers cannot grow memory without end.
 */
export const MAX_COUNTERS_PER_WINDOW = 500_000;

export function increment(periodIndex: number, start: number, key: string): void {
  const counts = bucket(periodIndex, start).counts;
  const cur = counts.get(key);
  if (cur === undefined && counts.size >= MAX_COUNTERS_PER_WINDOW) counts.delete(counts.keys().next().value!);
  counts.set(key, (cur ?? 0) + 1);
}

/** For tests: forget every counter. */
export function resetLocalCounters(): void {
  for (const b of buckets) {
    b.start = -1;
    b.counts = new Map();
  }
}
