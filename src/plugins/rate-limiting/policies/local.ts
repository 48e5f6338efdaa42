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
  /** scope (route/service key prefix) → identifier → count. Short keys whose hashes V8 caches. */
  scopes: Map<string, Map<string, number>>;
  size: number;
}

const buckets: Bucket[] = [];
for (let i = 0; i < 6; i++) buckets.push({ start: -1, scopes: new Map(), size: 0 });

function bucket(periodIndex: number, start: number): Bucket {
  const b = buckets[periodIndex]!;
  // Windows only move forward: a request that read the clock just before the
  // turn is counted in the new window.
  if (start > b.start) {
    b.start = start;
    b.scopes = new Map();
    b.size = 0;
  }
  return b;
}

export function usage(periodIndex: number, start: number, scope: string, id: string): number {
  return bucket(periodIndex, start).scopes.get(scope)?.get(id) ?? 0;
}

/**
 * Most counters one window keeps. Kong's shared dict is bounded too (LRU);
 * past this, the oldest counters of the window are forgotten, so a flood of
 * distinct identifiers cannot grow memory without end.
 */
export const MAX_COUNTERS_PER_WINDOW = 500_000;

export function increment(periodIndex: number, start: number, scope: string, id: string): void {
  const b = bucket(periodIndex, start);
  let counts = b.scopes.get(scope);
  if (counts === undefined) b.scopes.set(scope, (counts = new Map()));
  const cur = counts.get(id);
  if (cur === undefined) {
    if (b.size >= MAX_COUNTERS_PER_WINDOW) evictOldest(b);
    b.size++;
  }
  counts.set(id, (cur ?? 0) + 1);
}

function evictOldest(b: Bucket): void {
  for (const [scope, counts] of b.scopes) {
    const first = counts.keys().next();
    if (first.done) {
      b.scopes.delete(scope);
      continue;
    }
    counts.delete(first.value);
    b.size--;
    if (counts.size === 0) b.scopes.delete(scope);
    return;
  }
}

/** For tests: forget every counter. */
export function resetLocalCounters(): void {
  for (const b of buckets) {
    b.start = -1;
    b.scopes = new Map();
    b.size = 0;
  }
}
