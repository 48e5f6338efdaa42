/**
 * Live, atomic configuration. Holds the one `RuntimeRef` the proxy reads;
 * a change builds a complete new Runtime beside the live one and swaps the
 * reference. Requests read `ref.current` once at their start, so each sees
 * the old or the new configuration, never a mix. A failed build is logged
 * and the old Runtime keeps serving.
 *
 * Reloads are coalesced: while one build runs, further change events collapse
 * into a single follow-up build of the newest snapshot.
 *
 * Plugin code is loaded (asynchronously) before a build (buildRuntimeReady):
 * the swap happens only once every module the configuration uses is in
 * memory, so no request ever waits for plugin code to load. Snapshots given
 * to apply() are applied in order; one superseded by a newer snapshot while
 * its plugins were loading is skipped.
 */
import type { Logger } from 'pino';
import type { ConfigSnapshot } from '../schema/entities/types.ts';
import type { Runtime } from './runtime-types.ts';
import { buildRuntime, pluginNames, type BuildOptions } from './runtime.ts';
import { loadPlugins } from '../plugins/index.ts';

export interface RuntimeRef {
  current: Runtime;
}

/** How long a replaced Runtime stays alive for in-flight requests before plugin close hooks run. */
const DISPOSE_AFTER_MS = 120_000;

export class RuntimeManager {
  readonly ref: RuntimeRef;
  private readonly load: () => Promise<ConfigSnapshot>;
  private readonly options: BuildOptions;
  private readonly log: Logger;
  private building: Promise<void> | null = null;
  private again = false;
  private readonly listeners: Array<(rt: Runtime) => void> = [];
  /** Replaced runtimes waiting out their grace period before dispose. */
  private readonly retiring = new Map<NodeJS.Timeout, Runtime>();
  /** apply() calls, in order; `requested` counts them so a superseded one is skipped. */
  private applying: Promise<unknown> = Promise.resolve();
  private requested = 0;
  lastError: Error | null = null;
  /** The snapshot behind ref.current (pushed to workers in cluster mode). */
  snapshot: ConfigSnapshot;

  private constructor(initial: Runtime, snapshot: ConfigSnapshot, load: () => Promise<ConfigSnapshot>, options: BuildOptions) {
    this.ref = { current: initial };
    this.snapshot = snapshot;
    this.load = load;
    // Every snapshot a manager builds comes from a store (or a primary's store): configs are validated.
    this.options = { ...options, validated: true };
    this.log = options.log;
  }

  /** Build the first Runtime; throws when the stored configuration cannot be compiled. */
  static async create(load: () => Promise<ConfigSnapshot>, options: BuildOptions): Promise<RuntimeManager> {
    const snapshot = await load();
    await loadPlugins(pluginNames(snapshot));
    return RuntimeManager.started(buildRuntime(snapshot, { ...options, validated: true }), snapshot, load, options);
  }

  /** From an already loaded snapshot (workers receive snapshots over IPC). */
  static async fromSnapshot(snapshot: ConfigSnapshot, options: BuildOptions): Promise<RuntimeManager> {
    await loadPlugins(pluginNames(snapshot));
    return RuntimeManager.started(buildRuntime(snapshot, { ...options, validated: true }), snapshot, async () => snapshot, options);
  }

  private static started(rt: Runtime, snapshot: ConfigSnapshot, load: () => Promise<ConfigSnapshot>, options: BuildOptions): RuntimeManager {
    options.log.info({ version: rt.version, routes: rt.router.size }, 'configuration applied');
    return new RuntimeManager(rt, snapshot, load, options);
  }

  onSwap(listener: (rt: Runtime) => void): void {
    this.listeners.push(listener);
  }

  /** Rebuild from the store; resolves once the newest configuration is live (or failed to build). */
  reload(): Promise<void> {
    if (this.building !== null) {
      this.again = true;
      return this.building;
    }
    this.building = this.run().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      let snapshot: ConfigSnapshot;
      try {
        snapshot = await this.load();
      } catch (err) {
        this.fail(err, 'could not read configuration; the previous configuration keeps serving');
        continue;
      }
      await this.apply(snapshot);
    } while (this.again);
  }

  /**
   * Load the snapshot's plugins, build and swap. Resolves false (old Runtime
   * kept) when the build fails; true once it is live, or when a newer
   * snapshot given meanwhile made it moot.
   */
  apply(snapshot: ConfigSnapshot): Promise<boolean> {
    const ticket = ++this.requested;
    const run = this.applying.then(async () => {
      if (ticket !== this.requested) return true;
      try {
        await loadPlugins(pluginNames(snapshot));
      } catch (err) {
        this.fail(err, 'plugin code failed to load; the previous configuration keeps serving');
        return false;
      }
      if (ticket !== this.requested) return true;
      return this.swap(snapshot);
    });
    this.applying = run;
    return run;
  }

  private swap(snapshot: ConfigSnapshot): boolean {
    if (snapshot.version !== 0 && snapshot.version === this.ref.current.version) return true;
    let next: Runtime;
    try {
      next = buildRuntime(snapshot, this.options);
    } catch (err) {
      this.fail(err, 'configuration failed to compile; the previous configuration keeps serving');
      return false;
    }
    const old = this.ref.current;
    this.ref.current = next;
    this.snapshot = snapshot;
    this.lastError = null;
    this.log.info({ version: next.version, routes: next.router.size }, 'configuration applied');
    for (const l of this.listeners) l(next);
    const timer = setTimeout(() => {
      this.retiring.delete(timer);
      void old.dispose();
    }, DISPOSE_AFTER_MS).unref();
    this.retiring.set(timer, old);
    return true;
  }

  private fail(err: unknown, message: string): void {
    this.lastError = err instanceof Error ? err : new Error(String(err));
    this.log.error({ err: this.lastError.message }, message);
  }

  async close(): Promise<void> {
    await this.building;
    await this.applying;
    // Replaced runtimes still waiting out their grace period hold plugin resources (Redis clients):
    // a closing gateway releases them now rather than two minutes later.
    const retiring = [...this.retiring.entries()];
    this.retiring.clear();
    for (const [timer] of retiring) clearTimeout(timer);
    await Promise.all(retiring.map(([, runtime]) => runtime.dispose()));
    await this.ref.current.dispose();
  }
}
