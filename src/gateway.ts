/**
 * One gateway process: store + Admin API + runtime manager + proxy listeners.
 * Used by `portcullis start --workers 1`, by the cluster primary (without the
 * proxy) and by the test helpers (every listener on port 0).
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { configureLogger, type LogLevel } from './shared/log.ts';
import { gatewaySettingsFrom, proxySettingsFrom } from './gateway-settings.ts';
import { KONG_COMPAT_VERSION, VERSION } from './version.ts';
import type { Settings } from './settings.ts';
import type { Store } from './store/store.ts';
import { openStore } from './store/open.ts';
import { SchemaNotReadyError } from './store/postgres/index.ts';
import { parseDeclarative } from './store/declarative/index.ts';
import { RuntimeManager } from './core/runtime-manager.ts';
import type { GatewaySettings } from './plugins/types.ts';
import { enabledPlugins } from './plugins/index.ts';
import { scrapeOptions } from './plugins/prometheus/scrape.ts';
import { startAdmin, type AdminInfo } from './admin/server.ts';
import type { NodeLocalFanout } from './admin/node-local.ts';
import { startProxy, type ProxyHandle } from './core/server.ts';
import { register as processRegistry } from 'prom-client';
import { setNodeId } from './core/node-id.ts';
import { nodeExposition, serverStatistics, type ProcessMetrics, type TargetHealthSample, type TargetState } from './core/metrics-node.ts';
import { HealthOwner } from './core/proxy/balancer/health-owner.ts';
import { balancerHealth, targetData, targetHealth, type TargetHealthData } from './core/proxy/balancer/health-report.ts';
import type { UpstreamEntry } from './core/runtime-types.ts';
import type { UpstreamHealthApi } from './admin/types.ts';
import { runShutdownHooks } from './core/shutdown.ts';
import { setClusterEvents } from './core/cluster-events.ts';

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface GatewayHandle {
  readonly store: Store;
  readonly runtime: RuntimeManager;
  readonly gatewaySettings: GatewaySettings;
  readonly nodeId: string;
  /** The node's health checker (probes, counting, manual marks); the cluster primary relays it to workers. */
  readonly health: HealthOwner;
  proxyAddresses(): Array<{ host: string; port: number; ssl: boolean }>;
  adminAddresses(): Array<{ host: string; port: number }>;
  /** The status listener's addresses (status_listen; none when off). */
  statusAddresses(): Array<{ host: string; port: number }>;
  /**
   * `portcullis reload` (SIGHUP): DB-less, read the declarative file again
   * (an invalid file is refused and the running configuration kept); with a
   * database, rebuild from the store. Connections are not touched: the new
   * runtime is swapped in beside the live one.
   */
  reloadConfiguration(declarativeConfig: string | null): Promise<void>;
  close(): Promise<void>;
}

/** Kong's configuration_hash of the declarative file loaded at start (DB-less), for GET /status. */
let startupConfigHash: string | null = null;

/** Open the configured store; DB-less mode loads the declarative file into a read-only memory store. */
export async function openConfiguredStore(settings: Settings, log: Logger): Promise<Store> {
  if (settings.database === 'off') {
    let config = undefined;
    if (settings.declarativeConfig !== null) {
      let text: string;
      try {
        text = await readFile(settings.declarativeConfig, 'utf8');
      } catch (err) {
        throw new StartupError(`cannot read declarative config ${settings.declarativeConfig}: ${(err as Error).message}`);
      }
      const parsed = parseDeclarative(text, { format: settings.declarativeConfig.endsWith('.json') ? 'json' : 'yaml' });
      if (!parsed.ok) {
        throw new StartupError(`declarative config ${settings.declarativeConfig} is invalid: ${parsed.message}`);
      }
      config = parsed.config;
      startupConfigHash = parsed.hash;
    }
    return openStore('memory', { snapshot: config, readOnly: true });
  }
  if (settings.declarativeConfig !== null) {
    log.warn('declarative_config is ignored when a database is in use (use POST /config or `portcullis config` to load it)');
  }
  if (settings.database === 'postgres') {
    try {
      return await openStore('postgres', settings.pg);
    } catch (err) {
      if (err instanceof SchemaNotReadyError) throw new StartupError(err.message);
      throw err;
    }
  }
  return openStore('sqlite', { path: join(settings.dataDir, 'portcullis.db') });
}

export { gatewaySettingsFrom };

export interface StartOptions {
  /** Start proxy listeners in this process (false for a cluster primary). */
  proxy?: boolean;
  logger?: Logger;
  /**
   * The proxy processes' metrics for GET /metrics: the cluster primary asks
   * its workers; by default this process's own registry.
   */
  collectMetrics?: () => Promise<ProcessMetrics[]>;
  /** Why the node cannot serve yet (GET /status/ready answers 503 with it), or null. */
  notReady?: () => string | null;
  /** Node id (the cluster primary chooses it before forking its workers); random by default. */
  nodeId?: string;
  /** Session secret inherited from a primary process. */
  sessionSecret?: string;
  /** Cluster primary: runs node-local Admin API endpoints in the workers too. */
  nodeLocalFanout?: NodeLocalFanout;
}

export async function startGateway(settings: Settings, options: StartOptions = {}): Promise<GatewayHandle> {
  const log = options.logger ?? configureLogger(settings.logLevel as LogLevel);
  const store = await openConfiguredStore(settings, log);
  const gatewaySettings = gatewaySettingsFrom(settings, log, options.sessionSecret);
  const nodeId = options.nodeId ?? randomUUID();
  setNodeId(nodeId);
  // Plugins reach the database only through this port (PostgreSQL: events for every node; else none).
  setClusterEvents(store.events ?? null);
  let runtime: RuntimeManager;
  try {
    runtime = await RuntimeManager.create(() => store.snapshot(), { settings: gatewaySettings, log });
  } catch (err) {
    setClusterEvents(null);
    await store.close();
    throw new StartupError(`stored configuration cannot be compiled: ${(err as Error).message}`);
  }
  store.onChange(() => void runtime.reload());

  // Health checks run once per node: here (single process, or the cluster primary; principle 14).
  const health = new HealthOwner(log);
  health.sync(runtime.ref.current.upstreams.values());
  runtime.onSwap((rt) => health.sync(rt.upstreams.values()));
  const healthApi = upstreamHealthApi(health);

  let proxy: ProxyHandle | null = null;
  let statusServer: { addresses(): Array<{ host: string; port: number }> } | null = null;
  const closers: Array<() => Promise<void>> = [];
  try {
    if (options.proxy !== false && settings.proxyListen.length > 0) {
      health.takeLocalReports(); // this process proxies: its passive observations are counted here
      proxy = await startProxy({
        listen: settings.proxyListen,
        runtime: runtime.ref,
        settings: await proxySettingsFrom(settings),
        logger: log,
      });
      const p = proxy;
      // Upstream pools are process-wide (shared by every Runtime); the CLI closes them at exit.
      closers.push(async () => {
        await p.close();
        await runShutdownHooks(); // queued log entries (http-log) are sent
      });
    }
    const collect = options.collectMetrics ?? (async (): Promise<ProcessMetrics[]> => [await processRegistry.getMetricsAsJSON()]);
    const metricsText = async (): Promise<string> => {
      const current = runtime.ref.current;
      const prometheus = scrapeOptions(runtime.snapshot.plugins);
      const [processes, reachable] = await Promise.all([collect(), storeReachable(store, log)]);
      return nodeExposition(processes, {
        nodeId,
        version: KONG_COMPAT_VERSION,
        pluginConfigured: prometheus.configured,
        datastoreReachable: reachable,
        upstreamHealth: prometheus.upstreamHealth ? targetHealthSamples(current.upstreams.values(), healthApi) : null,
      });
    };
    const adminState = { configHash: null };
    const info = (): AdminInfo => ({
      version: VERSION,
      hostname: hostname(),
      node_id: nodeId,
      plugins: enabledPlugins(),
      database: settings.database,
      configVersion: runtime.ref.current.version,
      configError: runtime.lastError?.message ?? null,
      proxyListeners: settings.proxyListen,
      adminListeners: settings.adminListen,
      workers: settings.workers,
      configuration_hash: startupConfigHash,
      // Kong's `plugins` setting as written (`off` is the empty list), not the loaded set.
      configuration: { plugins: settings.plugins === null ? ['bundled'] : settings.plugins.length === 0 ? ['off'] : settings.plugins, log_level: settings.logLevel, prefix: settings.dataDir },
      health: healthApi,
      serverStats: async () => serverStatistics(await collect()),
      ...(options.notReady !== undefined ? { notReady: options.notReady } : {}),
    });
    const admin = await startAdmin({
      listen: settings.adminListen,
      store,
      logger: log,
      adminToken: settings.adminToken,
      maxBodyBytes: settings.adminMaxBodyBytes,
      adminGuiOrigins: settings.adminGuiOrigins,
      info,
      declarative: settings.database === 'off',
      onConfigReplaced: () => void runtime.reload(),
      metricsText,
      state: adminState,
      nodeLocalFanout: options.nodeLocalFanout,
    });
    closers.push(() => admin.close());
    if (settings.statusListen.length > 0) {
      const status = await startAdmin({
        surface: 'status',
        listen: settings.statusListen,
        store,
        logger: log,
        info,
        declarative: settings.database === 'off',
        state: adminState,
        metricsText,
      });
      statusServer = status;
      closers.push(() => status.close());
    }
    return {
      store,
      runtime,
      gatewaySettings,
      nodeId,
      health,
      proxyAddresses: () => proxy?.addresses() ?? [],
      adminAddresses: () => admin.addresses(),
      statusAddresses: () => statusServer?.addresses() ?? [],
      async reloadConfiguration(declarativeConfig) {
        if (settings.database === 'off' && declarativeConfig !== null) {
          const fresh = await openConfiguredStore({ ...settings, declarativeConfig }, log);
          const snapshot = await fresh.snapshot();
          await fresh.close();
          const { version: _version, ...config } = snapshot;
          await store.replaceAll(config);
        }
        await runtime.reload();
      },
      async close() {
        for (const c of closers.reverse()) await c();
        health.close();
        await runtime.close();
        setClusterEvents(null);
        await store.close();
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    health.close();
    setClusterEvents(null);
    await store.close();
    throw err;
  }
}

/** The Admin API's view of the node's health (Kong's shapes, src/core/proxy/balancer/health-report.ts). */
function upstreamHealthApi(owner: HealthOwner): UpstreamHealthApi {
  return {
    targets(upstreamId) {
      const b = owner.balancer(upstreamId);
      if (b === undefined) return null;
      const out = new Map<string, { health: string; data: unknown }>();
      for (const t of b.targets) {
        const data = targetData(b, t);
        out.set(t.key, { health: targetHealth(data), data });
      }
      return out;
    },
    balancer(upstreamId) {
      const b = owner.balancer(upstreamId);
      return b === undefined ? null : balancerHealth(b);
    },
    set: (upstreamId, target, address, healthy) => owner.setManual(upstreamId, target, address, healthy),
  };
}

/** Kong's kong_datastore_reachable: can the store be read now? */
async function storeReachable(store: Store, log: Logger): Promise<boolean> {
  try {
    await store.list('services', { size: 1 });
    return true;
  } catch (err) {
    log.error({ err }, 'prometheus: failed to reach database while processing /metrics endpoint');
    return false;
  }
}

/** Each target address's health, as exporter.lua walks get_upstream_health. */
function targetHealthSamples(entries: Iterable<UpstreamEntry>, api: UpstreamHealthApi): TargetHealthSample[] {
  const out: TargetHealthSample[] = [];
  for (const { balancer } of entries) {
    const targets = api.targets(balancer.id);
    if (targets === null) continue;
    for (const [target, { data }] of targets) {
      const addresses = (data as TargetHealthData).addresses;
      if (addresses.length === 0) out.push({ upstream: balancer.upstream.name, target, address: '', state: 'dns_error' });
      for (const a of addresses) out.push({ upstream: balancer.upstream.name, target, address: `${a.ip}:${a.port}`, state: a.health.toLowerCase() as TargetState });
    }
  }
  return out;
}
