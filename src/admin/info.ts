/**
 * Node information endpoints (kong/api/routes/kong.lua, health.lua,
 * plugins.lua):
 *   GET /                 version, hostname, node_id, plugins, configuration
 *   GET /status           database reachability, memory, connection counters
 *                         (and, DB-less, the configuration hash)
 *   GET /status/ready     200 once the node can serve, 503 otherwise
 *   GET /plugins/enabled  the plugins this node can run
 *   GET /endpoints        every Admin API endpoint
 */
import process from 'node:process';
import { enabledPlugins, getPlugin } from '../plugins/index.ts';
import { EMPTY_CONFIG_HASH } from '../store/declarative/parse.ts';
import { KONG_COMPAT_VERSION } from '../version.ts';
import { message } from './errors.ts';
import type { AdminRouter, RouteDef } from './router.ts';
import type { AdminContext, AdminInfo, ListenAddress, ServerStats } from './types.ts';

async function storeReachable(ctx: AdminContext): Promise<boolean> {
  try {
    await ctx.store.list('services', { size: 1 });
    return true;
  } catch (err) {
    ctx.log.error({ err }, 'admin api: store unreachable during /status');
    return false;
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}

/** Kong reports Lua VM memory per worker; the V8 heap is our equivalent. */
function processMemory(pid: number): Record<string, unknown> {
  const m = process.memoryUsage();
  return {
    workers_lua_vms: [{ http_allocated_gc: mib(m.heapUsed), pid }],
    lua_shared_dicts: {},
  };
}

const ZERO_STATS: ServerStats = {
  connections_accepted: 0,
  connections_active: 0,
  connections_handled: 0,
  connections_reading: 0,
  connections_waiting: 0,
  connections_writing: 0,
  total_requests: 0,
};

function listener(l: ListenAddress): Record<string, unknown> {
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return {
    ip: l.host,
    port: l.port,
    listener: `${host}:${l.port}${l.ssl ? ' ssl' : ''}`,
    ssl: l.ssl === true,
    http2: false,
    proxy_protocol: false,
    deferred: false,
    reuseport: false,
    bind: false,
  };
}

/** Kong's `configuration` block: what the runtime gave, completed from the shorthand fields. */
function configurationBlock(ctx: AdminContext, info: AdminInfo): Record<string, unknown> {
  const conf: Record<string, unknown> = {};
  conf.database = info.database ?? (ctx.declarative ? 'off' : ctx.store.kind);
  if (info.proxyListeners !== undefined) {
    conf.proxy_listeners = info.proxyListeners.map(listener);
    conf.proxy_listen = info.proxyListeners.map((l) => String(listener(l).listener));
  }
  if (info.adminListeners !== undefined) {
    conf.admin_listeners = info.adminListeners.map(listener);
    conf.admin_listen = info.adminListeners.map((l) => String(listener(l).listener));
  }
  if (info.workers !== undefined) conf.nginx_worker_processes = info.workers;
  const plugins = info.plugins ?? enabledPlugins();
  conf.plugins = ['bundled'];
  conf.loaded_plugins = Object.fromEntries(plugins.map((p) => [p, true]));
  return { ...conf, ...info.configuration };
}

export function configurationHash(ctx: AdminContext): string {
  return ctx.state.configHash ?? ctx.info().configuration_hash ?? EMPTY_CONFIG_HASH;
}

export function registerInfo(router: AdminRouter, allRoutes: () => readonly RouteDef[]): void {
  router.add('GET', '/', async (_req, ctx) => {
    const info = ctx.info();
    const available: Record<string, { version: string; priority: number }> = {};
    for (const name of enabledPlugins()) {
      const p = getPlugin(name);
      if (p !== undefined) available[name] = { version: p.version, priority: p.priority };
    }
    const inUse = new Set<string>();
    try {
      const snap = await ctx.store.snapshot();
      for (const p of snap.plugins) inUse.add(p.name);
    } catch (err) {
      ctx.log.error({ err }, 'admin api: cannot list plugins in use');
    }
    const configuration = configurationBlock(ctx, info);
    return {
      status: 200,
      body: {
        tagline: info.tagline ?? 'Welcome to Portcullis',
        // decK and Kong Manager gate features on `version`: it is the Kong release whose
        // behaviour we match (issue 11, item 3); our own release is a field of its own.
        version: KONG_COMPAT_VERSION,
        portcullis_version: info.version,
        edition: 'community',
        hostname: info.hostname,
        node_id: info.node_id,
        timers: { running: 0, pending: 0 },
        plugins: { available_on_server: available, enabled_in_cluster: [...inUse].sort() },
        configuration,
        pids: info.pids ?? { master: process.pid, workers: [process.pid] },
      },
    };
  });

  registerStatus(router, false);

  router.add('GET', '/plugins/enabled', () => ({ status: 200, body: { enabled_plugins: enabledPlugins() } }));

  router.add('GET', '/endpoints', () => {
    const seen = new Set<string>();
    for (const r of allRoutes()) seen.add(r.pattern.replace(/:([^/]+)/g, '{$1}'));
    // segment-wise sort: '/' sorts before any other character
    const data = [...seen].sort((a, b) => {
      const x = a.replace(/\//g, '\u0000');
      const y = b.replace(/\//g, '\u0000');
      return x < y ? -1 : x > y ? 1 : 0;
    });
    return { status: 200, body: { data } };
  });
}

/**
 * GET /status and GET /status/ready (kong/api/routes/health.lua,
 * kong/status/ready.lua), on the Admin API and the status listener; `drain`:
 * also POST /status/ready (the status listener only, as in Kong).
 */
export function registerStatus(router: AdminRouter, drain: boolean): void {
  router.add('GET', '/status', async (_req, ctx) => {
    const info = ctx.info();
    const body: Record<string, unknown> = {
      database: { reachable: await storeReachable(ctx) },
      memory: info.memory ?? processMemory(info.pids?.master ?? process.pid),
      server: (await info.serverStats?.()) ?? info.server ?? ZERO_STATS,
    };
    if (info.configVersion !== undefined) body.configuration_version = info.configVersion;
    if (ctx.declarative) body.configuration_hash = configurationHash(ctx);
    return { status: 200, body };
  });

  router.add('GET', '/status/ready', async (_req, ctx) => {
    if (ctx.state.draining === true) throw message(503, 'draining');
    if (!(await storeReachable(ctx))) throw message(503, 'failed to connect to database');
    const notReady = ctx.info().notReady?.() ?? null;
    if (notReady !== null) throw message(503, notReady);
    if (ctx.declarative && configurationHash(ctx) === EMPTY_CONFIG_HASH) throw message(503, 'no configuration available (empty configuration present)');
    return { status: 200, body: { message: 'ready' } };
  });

  if (!drain) return;
  // Kong: a node told to drain (POST {status: draining}) answers 503 from then on, so a load
  // balancer stops sending it traffic before it stops.
  router.add('POST', '/status/ready', (req, ctx) => {
    const body = req.body.value as Record<string, unknown> | undefined;
    const status = (typeof body === 'object' && body !== null ? body.status : undefined) ?? req.query.get('status');
    if (status !== 'draining') return { status: 400 };
    ctx.state.draining = true;
    return { status: 204 };
  });
}
