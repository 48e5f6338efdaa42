/**
 * Use every core (node:cluster). The primary owns the store, the Admin API and
 * the RuntimeManager; it pushes each applied configuration snapshot to the
 * workers, which build their own Runtime from it and run the proxy listeners.
 * A crashed worker is replaced (with a short back-off if it keeps crashing).
 *
 * Listeners: workers bind with the cluster module's shared handles (the
 * primary accepts and distributes connections round-robin).
 */
import process from 'node:process';
import cluster, { type Worker } from 'node:cluster';
import { flushCompileCache } from 'node:module';
import { randomUUID } from 'node:crypto';
import { register as processRegistry } from 'prom-client';
import type { Logger } from 'pino';
import type { Settings } from './settings.ts';
import type { ConfigSnapshot } from './schema/entities/types.ts';
import type { GatewayHandle } from './gateway.ts';
import { gatewaySettingsFrom, proxySettingsFrom } from './gateway-settings.ts';
import { RuntimeManager } from './core/runtime-manager.ts';
import { startProxy } from './core/server.ts';
import { closePools } from './core/proxy/pools.ts';
import { runShutdownHooks } from './core/shutdown.ts';
import type { NodeLocalCall, NodeLocalFanout } from './admin/node-local.ts';
import type { AdminResponse } from './admin/types.ts';
import { nodeStateDir } from './core/node-state/database.ts';
import { serveSeenOnce } from './core/node-state/seen-once.ts';
import { NODE_STATE_ENV } from './core/node-state/location.ts';
import { addReportSink, healthStates, setHealthState } from './core/proxy/balancer/health-state.ts';
import { NODE_ID_ENV } from './core/node-id.ts';
import type { ProcessMetrics } from './core/metrics-node.ts';
import { heapGrowthChosen, PRIMARY_EXEC, PRIMARY_V8_FLAG, pretenuringChosen, youngGenerationChosen } from './shared/primary-exec.ts';
import { setClusterEvents, type ClusterEvents } from './core/cluster-events.ts';
import { collectGarbage, collectWhenQuiet } from './shared/collect-garbage.ts';

interface ConfigMessage {
  type: 'portcullis:config';
  snapshot: ConfigSnapshot;
}

interface ReadyMessage {
  type: 'portcullis:ready';
}

/** Worker → primary: my listeners are in place, send me the configuration (and health, log level). */
interface HelloMessage {
  type: 'portcullis:hello';
}

/** Primary → worker: run a node-local Admin API endpoint here (src/admin/node-local.ts). */
interface NodeLocalMessage {
  type: 'portcullis:node-local';
  id: number;
  call: NodeLocalCall;
}

interface NodeLocalResultMessage {
  type: 'portcullis:node-local-result';
  id: number;
  response: AdminResponse;
}

/**
 * Health checks (principle 14, Kong's per-node checker state): the primary's
 * HealthOwner holds the node's state and runs the probes; workers forward
 * passive observations (`health-report`, only those that can change a state)
 * and apply every state the primary pushes (`health`).
 */
interface HealthMessage {
  type: 'portcullis:health';
  states: Array<[string, number]>;
}

interface HealthReportMessage {
  type: 'portcullis:health-report';
  key: string;
  obs: number;
}

/** Primary → worker: send your metrics (GET /metrics sums them); worker → primary: here they are. */
interface MetricsRequestMessage {
  type: 'portcullis:metrics';
  id: number;
}

interface MetricsResultMessage {
  type: 'portcullis:metrics-result';
  id: number;
  metrics: ProcessMetrics;
}

/** The command-line launcher: workers run it, as the primary did when started by `portcullis`. */
const LAUNCHER = new URL('../bin/portcullis.js', import.meta.url).pathname;
/**
 * Worker → primary: broadcast a cluster event (src/core/cluster-events.ts) through the primary's
 * store; the primary answers once it is stored and notified (or why not).
 */
interface ClusterEventMessage {
  type: 'portcullis:cluster-event';
  id: number;
  channel: string;
  data: string;
  ttl: number;
}

interface ClusterEventResultMessage {
  type: 'portcullis:cluster-event-result';
  id: number;
  error: string | null;
}

/** How long a worker waits for its primary to store a cluster event. */
const CLUSTER_EVENT_TIMEOUT_MS = 10_000;

/**
 * A worker's cluster events: broadcasts go through the primary's store; subscribing does nothing,
 * as the primary delivers every event once for the node (into node-wide state every worker reads).
 */
function relayedClusterEvents(): ClusterEvents {
  let seq = 0;
  const pending = new Map<number, (error: string | null) => void>();
  process.on('message', (m: unknown) => {
    const msg = m as ClusterEventResultMessage | undefined;
    if (msg?.type === 'portcullis:cluster-event-result') pending.get(msg.id)?.(msg.error);
  });
  return {
    broadcast: (channel, data, ttl) =>
      new Promise<void>((resolve, reject) => {
        const id = ++seq;
        const timer = setTimeout(() => done('the primary did not answer'), CLUSTER_EVENT_TIMEOUT_MS);
        timer.unref();
        const done = (error: string | null): void => {
          clearTimeout(timer);
          pending.delete(id);
          if (error === null) resolve();
          else reject(new Error(`cluster event not sent: ${error}`));
        };
        pending.set(id, done);
        process.send?.({ type: 'portcullis:cluster-event', id, channel, data, ttl } satisfies ClusterEventMessage);
      }),
    subscribe: () => () => undefined,
  };
}

/** How long the primary waits for the workers' answers to a node-local call. */
const NODE_LOCAL_TIMEOUT_MS = 5_000;

function isConfigMessage(m: unknown): m is ConfigMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'portcullis:config';
}

export interface ClusterHandle {
  gateway: GatewayHandle;
  /** `portcullis reload` changed log_level: every worker (and every later replacement) logs at it. */
  setLogLevel(level: string): void;
  close(): Promise<void>;
}

/** Primary → worker: the node's log level changed (reload). */
interface LogLevelMessage {
  type: 'portcullis:log-level';
  level: string;
}

/**
 * V8 flags of a proxy worker. The young generation is bounded at 8 MB per
 * semi-space: measured under wrk load with a 10,000-route configuration, V8
 * grew it to 52 MB (4 MB with one route under the same load), taking a
 * worker's RSS from ~165 to ~195 MB, while CPU time per request was the same
 * within the noise of the machine (docs/benchmarks.md, "Profiling notes").
 * A size the operator chose (execArgv or NODE_OPTIONS) wins.
 */
function workerExecArgv(): string[] {
  // The primary's own small young generation (src/cli/commands/start.ts) is not a worker's.
  const args = process.env[PRIMARY_EXEC] === '1' ? process.execArgv.filter((a) => a !== PRIMARY_V8_FLAG) : [...process.execArgv];
  if (!youngGenerationChosen(args)) args.push('--max-semi-space-size=8');
  if (!pretenuringChosen(args)) args.push(NO_PRETENURING);
  if (!heapGrowthChosen(args)) args.push(HEAP_GROWTH);
  return args;
}

/**
 * No allocation-site pretenuring in a proxy worker. V8 moves an allocation
 * site to the old generation once nearly every object it allocated survived a
 * scavenge; a burst at start-up was enough to do that to the per-request
 * exchange objects, and from then on every young object stored into one (the
 * upstream request, its headers, the request's head string) was kept alive by
 * the remembered set until the next full collection: ~1 MB promoted per
 * scavenge, 28 MB per 30 scavenges in a bearer-token worker, none with the
 * flag; CPU per request 6–17% lower in interleaved runs, the plain proxy
 * unchanged (docs/benchmarks.md, "Issue 13, third pass"). A request's objects
 * never outlive it, so the heuristic has nothing to win here. The operator's
 * own `--[no-]allocation-site-pretenuring` wins.
 */
const NO_PRETENURING = '--no-allocation-site-pretenuring';

/**
 * A proxy worker's old generation grows by 10% of what the last full
 * collection kept before the next one starts (V8 picks 10%–300% from how fast
 * it collects, and picked the top of that range while the code was still
 * cold). At the first seconds of load, before the request path is optimised,
 * per-request objects are promoted by the tens of megabytes; with V8's own
 * factor the old generation reached 85 MB before its first full collection,
 * which set the worker's peak. Measured with `npm run bench` (2 rounds of
 * 8 s, systems alternated): largest worker under scenario b1 (bearer token)
 * 185–191 → 124–128 MB, node 480–482 → 360–365 MB; plain proxy 129–133 →
 * 108–110 MB; 10,000 routes 149–151 → 121–125 MB; CPU per request within the
 * machine's noise in every pair (docs/benchmarks.md, "Issue 13, fifth
 * pass"). A request's objects die with it, so the steady state promotes
 * almost nothing and the extra full collections happen at warm-up only.
 * The operator's own `--heap-growing-percent` on the node's command line wins (Node refuses it in NODE_OPTIONS).
 */
const HEAP_GROWTH = '--heap-growing-percent=10';

/**
 * glibc malloc of a proxy worker: two arenas unless the operator set
 * MALLOC_ARENA_MAX. Every socket read allocates (and soon frees) a buffer
 * outside the V8 heap; with glibc's default of up to 8 arenas per core the
 * freed memory stayed spread over arenas. Measured on the 10,000-route
 * scenario (npm run bench -- --scenario e --systems portcullis, 3 × 8 s):
 * largest worker 181 → 167 MB, 1-route worker 165 → 149 MB, throughput not
 * lower (docs/benchmarks.md, "Upstream client and fast lane").
 */
function workerMallocEnv(): Record<string, string> {
  return process.env.MALLOC_ARENA_MAX === undefined ? { MALLOC_ARENA_MAX: '2' } : {};
}

/** Primary side: start store + admin, fork workers, push configuration. */
/** Primary side: fan a node-local Admin API call out to every live worker and collect the answers. */
function nodeLocalFanout(): NodeLocalFanout {
  let seq = 0;
  const pending = new Map<number, { results: AdminResponse[]; remaining: number; done: () => void }>();
  cluster.on('message', (_w, m: unknown) => {
    const msg = m as NodeLocalResultMessage | undefined;
    if (msg?.type !== 'portcullis:node-local-result') return;
    const entry = pending.get(msg.id);
    if (entry === undefined) return;
    entry.results.push(msg.response);
    if (--entry.remaining === 0) entry.done();
  });
  return (call) =>
    new Promise<AdminResponse[]>((resolve) => {
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
      if (workers.length === 0) return resolve([]);
      const id = ++seq;
      const results: AdminResponse[] = [];
      const timer = setTimeout(() => entry.done(), NODE_LOCAL_TIMEOUT_MS);
      timer.unref();
      const entry = {
        results,
        remaining: workers.length,
        done: () => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(results);
        },
      };
      pending.set(id, entry);
      for (const w of workers) w.send({ type: 'portcullis:node-local', id, call } satisfies NodeLocalMessage);
    });
}

/**
 * Primary side: every live worker's metrics, for one scrape (the node's totals
 * are their sum, src/core/metrics-node.ts). A worker that does not answer
 * within the timeout is left out of this scrape.
 */
function workerMetrics(): () => Promise<ProcessMetrics[]> {
  let seq = 0;
  const pending = new Map<number, (m: ProcessMetrics) => void>();
  cluster.on('message', (_w, m: unknown) => {
    const msg = m as MetricsResultMessage | undefined;
    if (msg?.type === 'portcullis:metrics-result') pending.get(msg.id)?.(msg.metrics);
  });
  return () => {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    return Promise.all(
      workers.map(
        (w) =>
          new Promise<ProcessMetrics>((resolve) => {
            const id = ++seq;
            const timer = setTimeout(() => done([]), NODE_LOCAL_TIMEOUT_MS);
            timer.unref();
            const done = (m: ProcessMetrics): void => {
              clearTimeout(timer);
              pending.delete(id);
              resolve(m);
            };
            pending.set(id, done);
            w.send({ type: 'portcullis:metrics', id } satisfies MetricsRequestMessage);
          }),
      ),
    );
  };
}

/** A configuration that has not changed for this long is collected after (ms). */
const GC_QUIET_MS = 3_000;

export async function startPrimary(settings: Settings, log: Logger): Promise<ClusterHandle> {
  const { startGateway } = await import('./gateway.ts');
  // Workers serving the newest configuration (GET /status/ready waits for all of them, as Kong waits
  // for every worker's router).
  const serving = new Set<number>();
  const nodeId = randomUUID();
  const gateway = await startGateway(settings, {
    proxy: false,
    logger: log,
    nodeId,
    collectMetrics: workerMetrics(),
    notReady: () =>
      serving.size >= settings.workers
        ? null
        : settings.database === 'off'
          ? `router builds not yet complete, router ready in ${serving.size} of ${settings.workers} workers`
          : 'router builds not yet complete',
    nodeLocalFanout: nodeLocalFanout(),
  });
  const secret = gateway.gatewaySettings.sessionSecret;
  let stopping = false;
  const recentCrashes: number[] = [];
  // The level a reload set; null while it is still the one the workers started with.
  let logLevel: string | null = null;

  const send = (w: Worker): void => {
    if (!w.isConnected()) return;
    if (logLevel !== null) w.send({ type: 'portcullis:log-level', level: logLevel } satisfies LogLevelMessage);
    w.send({ type: 'portcullis:config', snapshot: gateway.runtime.snapshot } satisfies ConfigMessage);
    w.send({ type: 'portcullis:health', states: healthStates() } satisfies HealthMessage);
  };
  gateway.health.onChange((key, state) => {
    const msg: HealthMessage = { type: 'portcullis:health', states: [[key, state]] };
    for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send(msg);
  });
  cluster.on('message', (_w, m: unknown) => {
    const msg = m as HealthReportMessage | undefined;
    if (msg?.type === 'portcullis:health-report') gateway.health.report(msg.key, msg.obs, false);
  });
  // Workers start through the launcher, which turns on Node's compile cache (bin/portcullis.js).
  cluster.setupPrimary({ exec: LAUNCHER, execArgv: workerExecArgv() });
  // Workers' cluster events (a logout ending sessions on every node) go out through this node's store.
  cluster.on('message', (w, m: unknown) => {
    const msg = m as ClusterEventMessage | undefined;
    if (msg?.type !== 'portcullis:cluster-event') return;
    const events = gateway.store.events;
    const answer = (error: string | null): void => {
      if (w.isConnected()) w.send({ type: 'portcullis:cluster-event-result', id: msg.id, error } satisfies ClusterEventResultMessage);
    };
    if (events === undefined) return answer('the store has no cluster events');
    events.broadcast(msg.channel, msg.data, msg.ttl).then(
      () => answer(null),
      (err: Error) => {
        log.error({ err: err.message }, 'cluster event could not be stored');
        answer(err.message);
      },
    );
  });
  // One-time identifiers seen by any worker (DPoP proof jtis, logout token jtis) are held here.
  serveSeenOnce();
  // The node's shared state (rate-limit counters, memory caches and sessions): created here, opened
  // by every worker, replacements included, and removed when this process exits (src/core/node-state).
  const stateDir = nodeStateDir();
  const fork = (): Worker => {
    const w = cluster.fork({ PORTCULLIS_WORKER: '1', PORTCULLIS_INHERITED_SESSION_SECRET: secret, [NODE_STATE_ENV]: stateDir, [NODE_ID_ENV]: nodeId, ...workerMallocEnv() });
    w.on('exit', () => serving.delete(w.id));
    return w;
  };
  // A worker asks for its configuration once it listens (HelloMessage): a message sent before a process
  // has a 'message' listener is dropped, so pushing at the worker's 'online' event (sent while it is still
  // loading its modules) lost the first configuration now and then, and that worker never became ready.
  cluster.on('message', (w, m: unknown) => {
    if ((m as HelloMessage | undefined)?.type === 'portcullis:hello') send(w);
  });
  // What building a configuration left behind is collected once the changes stop (src/shared/collect-garbage.ts).
  const collectAfterChanges = collectWhenQuiet(GC_QUIET_MS, (ms) => log.debug({ ms: Math.round(ms) }, 'collected after a configuration change'));
  gateway.runtime.onSwap(() => {
    for (const w of Object.values(cluster.workers ?? {})) if (w) send(w);
    collectAfterChanges();
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    recentCrashes.push(now);
    while (recentCrashes.length > 0 && recentCrashes[0]! < now - 60_000) recentCrashes.shift();
    const delay = recentCrashes.length > 5 ? 5_000 : 0;
    log.error({ worker: worker.process.pid, code, signal }, `worker exited; starting a replacement${delay ? ' in 5 s (crash loop)' : ''}`);
    setTimeout(() => {
      if (!stopping) fork();
    }, delay).unref();
  });
  const ready = new Promise<void>((resolve) => {
    let n = 0;
    cluster.on('message', (_w, m: unknown) => {
      if ((m as ReadyMessage | undefined)?.type !== 'portcullis:ready') return;
      serving.add(_w.id);
      if (++n === settings.workers) resolve();
    });
  });
  for (let i = 0; i < settings.workers; i++) fork();
  await ready;
  log.info({ workers: settings.workers }, 'workers ready');
  void collectGarbage().then((ms) => log.debug({ ms: Math.round(ms) }, 'collected after start-up'));
  return {
    gateway,
    setLogLevel(level) {
      logLevel = level;
      const msg: LogLevelMessage = { type: 'portcullis:log-level', level };
      for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send(msg);
    },
    async close() {
      stopping = true;
      const exits = Object.values(cluster.workers ?? {}).map(
        (w) =>
          new Promise<void>((resolve) => {
            if (!w || w.isDead()) return resolve();
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      );
      await Promise.all(exits);
      await gateway.close();
    },
  };
}

/**
 * A node-local Admin API call in this worker, over a read-only view of the
 * configuration it serves. The Admin API and store modules are imported on
 * the first call: a worker does not otherwise need them (RSS per worker).
 */
async function runNodeLocalHere(call: NodeLocalCall, config: Omit<ConfigSnapshot, 'version'>, log: Logger): Promise<AdminResponse> {
  const [{ runNodeLocal }, { createMemoryStore }] = await Promise.all([import('./admin/node-local.ts'), import('./store/memory.ts')]);
  const ctx = {
    store: createMemoryStore(config, { readOnly: true }),
    log,
    info: (): never => {
      throw new Error('node information is served by the primary');
    },
    declarative: true,
    state: { configHash: null },
  };
  return runNodeLocal(call, ctx);
}

/** Worker side: wait for the first snapshot, start the proxy, apply later snapshots. */
export async function runWorker(settings: Settings, log: Logger): Promise<void> {
  // The primary's GET /metrics sums the workers' registries (src/core/metrics-node.ts).
  process.on('message', (m: unknown) => {
    const msg = m as MetricsRequestMessage | undefined;
    if (msg?.type !== 'portcullis:metrics') return;
    void processRegistry.getMetricsAsJSON().then((metrics) => process.send?.({ type: 'portcullis:metrics-result', id: msg.id, metrics } satisfies MetricsResultMessage));
  });
  const gatewaySettings = gatewaySettingsFrom(settings, log, process.env.PORTCULLIS_INHERITED_SESSION_SECRET);
  // Before any plugin compiles: with PostgreSQL, cluster events go through the primary's store.
  if (settings.database === 'postgres') setClusterEvents(relayedClusterEvents());
  // Listening from the start: the primary sends the health state right behind the first configuration.
  addReportSink((key, obs) => process.send?.({ type: 'portcullis:health-report', key, obs } satisfies HealthReportMessage));
  process.on('message', (m: unknown) => {
    if ((m as HealthMessage | undefined)?.type !== 'portcullis:health') return;
    for (const [key, state] of (m as HealthMessage).states) setHealthState(key, state);
  });
  // One listener from the start collects every configuration: the first, and those that arrive while
  // its plugins load. Several IPC messages read in one chunk are emitted in one synchronous loop, so a
  // listener added after the first one's promise settles would miss the configuration right behind it
  // (an Admin API write made as the node starts never reached the workers).
  const early: ConfigSnapshot[] = [];
  const firstReady = Promise.withResolvers<ConfigSnapshot>();
  let gotFirst = false;
  const queueEarly = (m: unknown): void => {
    if (!isConfigMessage(m)) return;
    if (gotFirst) early.push(m.snapshot);
    else {
      gotFirst = true;
      firstReady.resolve(m.snapshot);
    }
  };
  process.on('message', queueEarly);
  // Only now: anything the primary sent before this process had a 'message' listener was dropped.
  process.send?.({ type: 'portcullis:hello' } satisfies HelloMessage);
  const first = await firstReady.promise;
  // Plugin modules are loaded (asynchronously) before a configuration goes live; later ones
  // are loaded while the previous configuration keeps serving (RuntimeManager.apply).
  const manager = await RuntimeManager.fromSnapshot(first, { settings: gatewaySettings, log });
  process.off('message', queueEarly);
  for (const s of early) void manager.apply(s);
  process.on('message', (m: unknown) => {
    if (isConfigMessage(m)) void manager.apply(m.snapshot);
    else if ((m as LogLevelMessage | undefined)?.type === 'portcullis:log-level') log.level = (m as LogLevelMessage).level;
    else if ((m as NodeLocalMessage | undefined)?.type === 'portcullis:node-local') {
      const { id, call } = m as NodeLocalMessage;
      const { version: _version, ...config } = manager.snapshot;
      void runNodeLocalHere(call, config, log).then((response) => process.send?.({ type: 'portcullis:node-local-result', id, response } satisfies NodeLocalResultMessage));
    }
  });
  const proxy = await startProxy({
    listen: settings.proxyListen,
    runtime: manager.ref,
    settings: await proxySettingsFrom(settings),
    logger: log,
  });
  // Start-up's garbage goes before the first request (idle worker 84 → 77 MB RSS), not into the first load.
  const gcMs = await collectGarbage();
  log.debug({ ms: Math.round(gcMs) }, 'collected after start-up');
  process.send?.({ type: 'portcullis:ready' } satisfies ReadyMessage);
  // The proxy's modules are now in the compile cache for the next worker (a replacement, the next
  // start): it will not need the type stripper (bin/portcullis.js).
  flushCompileCache();
  let stopping = false;
  const stop = (): void => {
    // A group-wide SIGTERM and the primary's own can both arrive: drain once, ignore repeats.
    if (stopping) return;
    stopping = true;
    void proxy
      .close()
      .then(() => runShutdownHooks()) // queued log entries (http-log) are sent
      .then(() => manager.close())
      .then(() => closePools())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => undefined); // the primary decides; Ctrl-C reaches the whole group
  // `portcullis reload` signals the primary, which pushes the new configuration; a HUP
  // reaching a worker (a closed terminal signals the group) must not kill it.
  process.on('SIGHUP', () => undefined);
  process.on('SIGQUIT', stop);
}
