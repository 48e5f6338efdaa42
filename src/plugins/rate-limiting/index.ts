/**
 * rate-limiting (Kong's plugin of the same name): fixed-window request
 * counts per second, minute, hour, day, month and year
 * (kong/plugins/rate-limiting/handler.lua, Kong Gateway 3.9).
 *
 * Per request: find the identifier (limit_by), read each configured period's
 * count, answer `error_code` / `error_message` when one is used up (the
 * rejected request is not counted), otherwise count it. Client headers, as
 * Kong: `X-RateLimit-Limit-<Period>` / `X-RateLimit-Remaining-<Period>` for
 * each period, and the IETF draft's `RateLimit-Limit`, `RateLimit-Remaining`,
 * `RateLimit-Reset` for the period closest to its limit; `Retry-After` on
 * rejection. hide_client_headers drops them all.
 *
 * Hot path: everything that does not depend on the request is compiled;
 * the local policy is synchronous (no promise), the Redis policy costs one
 * round trip and one small argument array.
 */
import type { Logger } from 'pino';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { CompileEnv, PluginModule } from '../types.ts';
import { nowMs, PERIOD_INDEX, periodStarts, WINDOW_SECONDS } from './periods.ts';
import * as local from './policies/local.ts';
import { acquireStore, acquireUrlStore, releaseStore, storeMode, type RedisStore, type SyncedCounters } from './policies/redis.ts';
import { check, effectiveRedis, PERIODS, SYNC_RATE_REALTIME, schema, type LimitBy, type Period, type RateLimitingConfig } from './schema.ts';

/** Kong's EMPTY_UUID, used in counter keys when the plugin is not scoped to a route/service. */
const EMPTY_UUID = '00000000-0000-0000-0000-000000000000';

const TITLE: Readonly<Record<Period, string>> = { second: 'Second', minute: 'Minute', hour: 'Hour', day: 'Day', month: 'Month', year: 'Year' };

interface PeriodLimit {
  readonly name: Period;
  readonly index: number;
  readonly limit: number;
  readonly window: number;
  readonly limitHeader: string;
  readonly remainingHeader: string;
}

export interface CompiledRateLimiting {
  readonly periods: readonly PeriodLimit[];
  readonly limitBy: LimitBy;
  /** Lower-cased header name for limit_by=header. */
  readonly headerName: string | null;
  readonly path: string | null;
  /** `ratelimit:<route_id>:<service_id>:` (Kong's key prefix). */
  readonly keyPrefix: string;
  readonly store: RedisStore | null;
  readonly synced: SyncedCounters | null;
  readonly faultTolerant: boolean;
  readonly hideClientHeaders: boolean;
  readonly errorCode: number;
  readonly errorMessage: string;
  readonly log: Logger;
}

/** Kong's get_identifier: falls back to the client IP whenever the chosen entity is absent. */
function identifier(ctx: RequestContext, conf: CompiledRateLimiting): string {
  let id: string | null | undefined;
  switch (conf.limitBy) {
    case 'consumer':
      id = (ctx.consumer ?? ctx.credential)?.id;
      break;
    case 'credential':
      id = ctx.credential?.id;
      break;
    case 'service':
      id = ctx.service?.id;
      break;
    case 'header':
      id = conf.headerName !== null ? pdk.request.getHeader(ctx, conf.headerName) : undefined;
      break;
    case 'path':
      id = ctx.path === conf.path ? conf.path : undefined;
      break;
  }
  return id ? id : pdk.client.getIp(ctx);
}

/**
 * Set the client headers and answer when over the limit (Kong's access
 * phase once usage is known). `usage[i]` is the count of `periods[i]` before
 * this request. Returns true when the request was rejected.
 */
function decide(ctx: RequestContext, conf: CompiledRateLimiting, usage: ArrayLike<number>, now: number): boolean {
  const periods = conf.periods;
  let stop = -1;
  for (let i = 0; i < periods.length; i++) if (periods[i]!.limit - usage[i]! <= 0) stop = i;

  let reset: number | undefined;
  if (!conf.hideClientHeaders) {
    const starts = periodStarts(now);
    let limit = -1;
    let window = 0;
    let remaining = 0;
    for (let i = 0; i < periods.length; i++) {
      const p = periods[i]!;
      let current = p.limit - usage[i]!;
      if (stop === -1 || stop === i) current -= 1;
      if (current < 0) current = 0;
      if (limit === -1 || current < remaining || (current === remaining && p.window > window)) {
        limit = p.limit;
        window = p.window;
        remaining = current;
        reset = Math.max(1, p.window - Math.floor((now - starts[p.index]!) / 1000));
      }
      pdk.response.setHeader(ctx, p.limitHeader, String(p.limit));
      pdk.response.setHeader(ctx, p.remainingHeader, String(current));
    }
    pdk.response.setHeader(ctx, 'ratelimit-limit', String(limit));
    pdk.response.setHeader(ctx, 'ratelimit-remaining', String(remaining));
    pdk.response.setHeader(ctx, 'ratelimit-reset', String(reset));
  }
  if (stop === -1) return false;
  if (reset !== undefined) pdk.response.setHeader(ctx, 'retry-after', String(reset));
  pdk.response.error(ctx, conf.errorCode, conf.errorMessage);
  return true;
}

function key(conf: CompiledRateLimiting, id: string, start: number, period: Period): string {
  // On a Redis Cluster the periods' counters of one client are read and incremented by one script, so
  // they share a hash slot: the hash tag is everything but the window. Elsewhere Kong's key, unchanged.
  if (conf.store !== null && conf.store.cluster) return `{${conf.keyPrefix}${id}}:${start}:${period}`;
  return `${conf.keyPrefix}${id}:${start}:${period}`;
}

/** Scratch space for the synchronous policies (never held across an await). */
const scratchUsage: number[] = [0, 0, 0, 0, 0, 0];
const scratchKeys: string[] = ['', '', '', '', '', ''];

function accessLocal(ctx: RequestContext, conf: CompiledRateLimiting): void {
  const now = nowMs();
  const id = identifier(ctx, conf);
  // Counted (or found used up) atomically for the whole node: see policies/local.ts.
  try {
    local.acquire(conf, conf.periods, periodStarts(now), conf.keyPrefix, id, now, scratchUsage);
  } catch (err) {
    // The node's shared state failed (e.g. /dev/shm full): as for an unreachable Redis, fault_tolerant
    // proxies without limiting (and without headers), otherwise a 500.
    warnLocalFailure(conf.log, err);
    if (conf.faultTolerant) return;
    throw new Error('rate-limiting: the node-wide counters failed', { cause: err });
  }
  decide(ctx, conf, scratchUsage, now);
}

function accessSynced(ctx: RequestContext, conf: CompiledRateLimiting, synced: SyncedCounters): void {
  const now = nowMs();
  const starts = periodStarts(now);
  const id = identifier(ctx, conf);
  const periods = conf.periods;
  const usage = scratchUsage;
  const keys = scratchKeys;
  for (let i = 0; i < periods.length; i++) {
    const p = periods[i]!;
    keys[i] = key(conf, id, starts[p.index]!, p.name);
    usage[i] = synced.usage(keys[i]!, p.window, starts[p.index]! + p.window * 1000);
  }
  if (decide(ctx, conf, usage, now)) return;
  for (let i = 0; i < periods.length; i++) {
    const p = periods[i]!;
    synced.increment(keys[i]!, p.window, starts[p.index]! + p.window * 1000);
  }
}

async function accessRedis(ctx: RequestContext, conf: CompiledRateLimiting, store: RedisStore): Promise<void> {
  const now = nowMs();
  const starts = periodStarts(now);
  const id = identifier(ctx, conf);
  const periods = conf.periods;
  const n = periods.length;
  // EVALSHA numkeys key… limit… ttl…
  const args = new Array<string | number>(1 + 3 * n);
  args[0] = n;
  for (let i = 0; i < n; i++) {
    const p = periods[i]!;
    args[1 + i] = key(conf, id, starts[p.index]!, p.name);
    args[1 + n + i] = p.limit;
    args[1 + 2 * n + i] = p.window;
  }
  let usage: number[];
  try {
    usage = await store.checkAndIncrement(args);
    store.succeeded();
  } catch (err) {
    store.failed(err);
    // Kong: fault_tolerant proxies without limiting (and without headers); otherwise a 500.
    if (conf.faultTolerant) return;
    throw new Error(`rate-limiting: cannot reach Redis ${store.id}`, { cause: err });
  }
  decide(ctx, conf, usage, now);
}

function access(ctx: RequestContext, conf: CompiledRateLimiting): void | Promise<void> {
  if (conf.store === null) return accessLocal(ctx, conf);
  if (conf.synced !== null) return accessSynced(ctx, conf, conf.synced);
  return accessRedis(ctx, conf, conf.store);
}

function compile(config: RateLimitingConfig, env: CompileEnv): CompiledRateLimiting {
  const periods: PeriodLimit[] = [];
  for (const name of PERIODS) {
    const limit = config[name];
    if (typeof limit !== 'number') continue;
    const index = PERIOD_INDEX[name];
    periods.push(
      Object.freeze({
        name,
        index,
        limit,
        window: WINDOW_SECONDS[index]!,
        limitHeader: `x-ratelimit-limit-${name}`,
        remainingHeader: `x-ratelimit-remaining-${name}`,
      }),
    );
  }
  if (periods.length === 0) throw new Error(`at least one of ${PERIODS.map((p) => TITLE[p]).join(', ')} must be set`);

  let store: RedisStore | null = null;
  if (config.policy === 'redis') {
    const redis = effectiveRedis(config);
    if (redis.host === null && storeMode(redis) === 'standalone') throw new Error('redis.host is required with the redis policy');
    store = acquireStore(redis, env.log);
  } else if (config.policy === 'cluster') {
    // Kong's `cluster` policy counts in its database. Portcullis shares
    // counters through the gateway's Redis (PORTCULLIS_REDIS_URL) instead.
    if (env.settings.redisUrl !== null) store = acquireUrlStore(env.settings.redisUrl, env.log);
    else warnClusterOnce(env.log);
  }
  const syncRate = config.sync_rate ?? SYNC_RATE_REALTIME;
  const synced = store !== null && syncRate !== SYNC_RATE_REALTIME && syncRate > 0 ? store.syncedCounters(syncRate) : null;

  return Object.freeze({
    periods: Object.freeze(periods),
    limitBy: config.limit_by,
    headerName: config.header_name != null ? config.header_name.toLowerCase() : null,
    path: config.path ?? null,
    keyPrefix: `ratelimit:${env.routeId ?? EMPTY_UUID}:${env.serviceId ?? EMPTY_UUID}:`,
    store,
    synced,
    faultTolerant: config.fault_tolerant,
    hideClientHeaders: config.hide_client_headers,
    errorCode: config.error_code,
    errorMessage: config.error_message,
    log: env.log,
  });
}

let lastLocalWarning = 0;
function warnLocalFailure(log: Logger, err: unknown): void {
  const now = Date.now();
  if (now - lastLocalWarning < 60_000) return;
  lastLocalWarning = now;
  log.error({ err: (err as Error).message }, 'rate-limiting: the node-wide counters (local policy) failed');
}

let clusterWarned = false;
function warnClusterOnce(log: Logger): void {
  if (clusterWarned) return;
  clusterWarned = true;
  log.warn("rate-limiting: policy 'cluster' needs a shared store; no Redis is configured (PORTCULLIS_REDIS_URL), so counters are kept per node as with 'local'");
}

export const rateLimiting: PluginModule<RateLimitingConfig, CompiledRateLimiting> = {
  name: 'rate-limiting',
  version: VERSION,
  priority: 910,
  // Kong Enterprise lists this plugin among those that can be scoped to a consumer group.
  scopes: { consumer: true, route: true, service: true, consumer_group: true },
  schema,
  check,
  compile,
  async close(conf) {
    if (conf.store !== null) await releaseStore(conf.store);
  },
  access,
};

export default rateLimiting;
