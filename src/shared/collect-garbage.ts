/**
 * One full garbage collection, on purpose, when the cluster primary has just
 * built something big and will then mostly wait: after start-up and after a
 * new configuration.
 *
 * Why: V8 collects the old generation when allocation pushes it to its limit,
 * and a process that waits does not allocate. The primary's start-up (store,
 * every plugin's schema, Admin API, first configuration) left it at 155 MB
 * RSS until V8's memory reducer got to it a minute or more later, if ever;
 * 111 MB right after this collection (docs/benchmarks.md, "Issue 13, fifth
 * pass").
 *
 * The collection is V8's low-memory one (what the inspector's
 * `HeapProfiler.collectGarbage` runs: full collections until nothing more is
 * freed, and the freed pages given back), asked through an in-process
 * inspector session, so no V8 flag is needed: `--expose-gc`'s `gc()` frees the
 * objects but keeps their pages (measured: RSS grew), and a context made
 * with the flag for its `gc` stays alive itself (+18 MB). A Node built
 * without the inspector skips the collection.
 */
import { performance } from 'node:perf_hooks';
import { clock, type Timer } from './clock.ts';

/** Run a full collection now; resolves to how long it took (ms), or -1 when this Node has no inspector. */
export async function collectGarbage(): Promise<number> {
  let inspector: typeof import('node:inspector/promises');
  try {
    inspector = await import('node:inspector/promises');
  } catch {
    return -1;
  }
  const session = new inspector.Session();
  try {
    session.connect();
    const started = performance.now();
    await session.post('HeapProfiler.collectGarbage');
    return performance.now() - started;
  } catch {
    return -1; // never a reason to fail a start or a reload
  } finally {
    session.disconnect();
  }
}

/**
 * A collection `quietMs` after the last call (a burst of configuration
 * changes — a decK sync is hundreds — ends in one collection, not hundreds).
 */
export function collectWhenQuiet(quietMs: number, onCollected?: (ms: number) => void): () => void {
  let timer: Timer | null = null;
  return () => {
    if (timer !== null) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      timer = null;
      void collectGarbage().then((ms) => onCollected?.(ms));
    }, quietMs);
    timer.unref();
  };
}
