/**
 * response-ratelimiting (Kong's plugin of the same name, Kong Gateway 3.9.3:
 * kong/plugins/response-ratelimiting/{handler,access,header_filter,log}.lua),
 * `policy: local` only.
 *
 * Named limits are consumed by the upstream: its response header
 * `header_name` (`X-Kong-Limit: videos=1, images=2`) says how much of each
 * limit the response used.
 * - access: read each limit's usage per period; with
 *   block_on_first_violation answer 429 "API rate limit exceeded for '<name>'"
 *   when one is used up; set `X-RateLimit-Remaining-<name>` (the least
 *   remaining over the periods).
 * - header_filter: parse the upstream's header (unknown names ignored), set
 *   `X-RateLimit-Limit-<name>-<period>` / `X-RateLimit-Remaining-<name>-<period>`
 *   (unless hide_client_headers), remove the header from the client's
 *   response, and answer 429 (the upstream's body is still relayed: Kong sets
 *   no body) when the response increments a limit that was already used up.
 * - log: add the increments to every period's counter (not after a 429 of
 *   header_filter).
 */
import type { Logger } from 'pino';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { CompileEnv, PluginModule } from '../types.ts';
import { nowMs, periodStarts, WINDOW_SECONDS } from '../rate-limiting/periods.ts';
import * as counters from './counters.ts';
import { check, PERIODS, schema, type LimitBy, type Period, type ResponseRateLimitingConfig } from './schema.ts';

const NAME = 'response-ratelimiting';
const EMPTY_UUID = '00000000-0000-0000-0000-000000000000';
/** RFC 9110 token: what a header name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

interface PeriodLimit {
  readonly name: Period;
  readonly index: number;
  readonly limit: number;
  /** Client headers, null when the limit name cannot be part of a header name. */
  readonly limitHeader: string | null;
  readonly remainingHeader: string | null;
}

interface NamedLimit {
  readonly name: string;
  readonly periods: readonly PeriodLimit[];
  readonly remainingHeader: string | null;
}

export interface CompiledResponseRateLimiting {
  readonly limits: readonly NamedLimit[];
  readonly byName: ReadonlyMap<string, NamedLimit>;
  readonly headerName: string;
  readonly limitBy: LimitBy;
  /** `response-ratelimit:<route_id>:<service_id>:` (Kong's key prefix). */
  readonly keyPrefix: string;
  readonly blockOnFirstViolation: boolean;
  readonly hideClientHeaders: boolean;
  readonly faultTolerant: boolean;
  readonly log: Logger;
}

/** kong.ctx.plugin of one request. */
interface State {
  identifier: string;
  now: number;
  /** usage[i][j]: remaining of limits[i].periods[j] (limit − count) at access. */
  remaining: number[][] | null;
  increments: Map<string, number> | null;
  stopLog: boolean;
}

function identifier(ctx: RequestContext, conf: CompiledResponseRateLimiting): string {
  let id: string | undefined;
  if (conf.limitBy === 'consumer') id = (ctx.consumer ?? ctx.credential)?.id;
  else if (conf.limitBy === 'credential') id = ctx.credential?.id;
  return id ? id : pdk.client.getIp(ctx);
}

function key(conf: CompiledResponseRateLimiting, id: string, start: number, limit: string, period: Period): string {
  return `${conf.keyPrefix}${id}:${start}:${limit}:${period}`;
}

function access(ctx: RequestContext, conf: CompiledResponseRateLimiting): void {
  const now = nowMs();
  const starts = periodStarts(now);
  const id = identifier(ctx, conf);
  const state: State = { identifier: id, now, remaining: null, increments: null, stopLog: false };
  pdk.setPluginState(ctx, NAME, state);
  const remaining: number[][] = [];
  try {
    for (const l of conf.limits) {
      const row: number[] = [];
      for (const p of l.periods) row.push(p.limit - counters.usage(key(conf, id, starts[p.index]!, l.name, p.name)));
      remaining.push(row);
    }
  } catch (err) {
    if (!conf.faultTolerant) throw new Error('response-ratelimiting: the node-wide counters failed', { cause: err });
    conf.log.error({ err: (err as Error).message }, 'failed to get usage');
    return;
  }
  for (let i = 0; i < conf.limits.length; i++) {
    const l = conf.limits[i]!;
    let least: number | undefined;
    for (const r of remaining[i]!) {
      if (conf.blockOnFirstViolation && r <= 0) {
        pdk.response.error(ctx, 429, `API rate limit exceeded for '${l.name}'`);
        return;
      }
      if (least === undefined || r < least) least = r;
    }
    if (l.remainingHeader !== null && least !== undefined) pdk.response.setHeader(ctx, l.remainingHeader, String(least));
  }
  state.remaining = remaining;
}

/** Kong's parse_header: `name=N` parts separated by commas (or several header lines); unknown names ignored. */
function parseIncrements(value: string | string[] | undefined, conf: CompiledResponseRateLimiting): Map<string, number> {
  const out = new Map<string, number>();
  if (value === undefined) return out;
  const parts = Array.isArray(value) ? value : value.split(',');
  for (const part of parts) {
    const kv = part.split('=');
    if (kv.length !== 2) continue;
    const name = kv[0]!.trim();
    if (!conf.byName.has(name)) continue;
    const text = kv[1]!.trim();
    const n = text === '' ? NaN : Number(text);
    if (Number.isFinite(n)) out.set(name, n);
    else out.delete(name); // Kong's tonumber() gives nil
  }
  return out;
}

function headerFilter(ctx: RequestContext, conf: CompiledResponseRateLimiting): void {
  const state = pdk.pluginState<State>(ctx, NAME);
  if (state === undefined) return;
  const increments = parseIncrements(ctx.upstreamResponseHeaders?.[conf.headerName], conf);
  state.increments = increments;
  const remaining = state.remaining;
  if (remaining === null) return;
  let stop = false;
  for (let i = 0; i < conf.limits.length; i++) {
    const l = conf.limits[i]!;
    const inc = increments.get(l.name);
    for (let j = 0; j < l.periods.length; j++) {
      const p = l.periods[j]!;
      const r = remaining[i]![j]!;
      if (!conf.hideClientHeaders && p.limitHeader !== null && p.remainingHeader !== null) {
        pdk.response.setHeader(ctx, p.limitHeader, String(p.limit));
        pdk.response.setHeader(ctx, p.remainingHeader, String(Math.max(0, r - (inc ?? 0))));
      }
      if (inc !== undefined && inc > 0 && r <= 0) stop = true;
    }
  }
  pdk.response.clearHeader(ctx, conf.headerName);
  if (stop) {
    state.stopLog = true;
    pdk.response.exit(ctx, 429);
  }
}

function log(ctx: RequestContext, conf: CompiledResponseRateLimiting): void {
  const state = pdk.pluginState<State>(ctx, NAME);
  if (state === undefined || state.stopLog || state.remaining === null || state.increments === null) return;
  const starts = periodStarts(state.now);
  for (const [name, value] of state.increments) {
    if (value === 0) continue;
    // Kong increments every period's counter of the limit, configured or not.
    const entries = PERIODS.map((period, index) => {
      const start = starts[index]!;
      return [key(conf, state.identifier, start, name, period), start + WINDOW_SECONDS[index]! * 1000] as const;
    });
    try {
      counters.increment(entries, value, Date.now());
    } catch (err) {
      conf.log.error({ err: (err as Error).message }, `could not increment counters of '${name}'`);
    }
  }
}

function compile(config: ResponseRateLimitingConfig, env: CompileEnv): CompiledResponseRateLimiting {
  const errors = check(config);
  if (Object.keys(errors).length > 0) throw new Error(`invalid response-ratelimiting configuration: ${JSON.stringify(errors)}`);
  const limits: NamedLimit[] = [];
  for (const [name, cfg] of Object.entries(config.limits)) {
    const safe = TOKEN.test(name);
    const periods: PeriodLimit[] = [];
    PERIODS.forEach((period, index) => {
      const limit = cfg[period];
      if (typeof limit !== 'number') return;
      periods.push(
        Object.freeze({
          name: period,
          index,
          limit,
          limitHeader: safe ? `x-ratelimit-limit-${name}-${period}` : null,
          remainingHeader: safe ? `x-ratelimit-remaining-${name}-${period}` : null,
        }),
      );
    });
    limits.push(Object.freeze({ name, periods: Object.freeze(periods), remainingHeader: safe ? `x-ratelimit-remaining-${name}` : null }));
  }
  return Object.freeze({
    limits: Object.freeze(limits),
    byName: new Map(limits.map((l) => [l.name, l])),
    headerName: config.header_name.toLowerCase(),
    limitBy: config.limit_by,
    keyPrefix: `response-ratelimit:${env.routeId ?? EMPTY_UUID}:${env.serviceId ?? EMPTY_UUID}:`,
    blockOnFirstViolation: config.block_on_first_violation,
    hideClientHeaders: config.hide_client_headers,
    faultTolerant: config.fault_tolerant,
    log: env.log,
  });
}

export const responseRateLimiting: PluginModule<ResponseRateLimitingConfig, CompiledResponseRateLimiting> = {
  name: NAME,
  version: VERSION,
  priority: 900,
  schema,
  protocols: ['grpc', 'grpcs', 'http', 'https', 'ws', 'wss'],
  check,
  compile,
  access,
  header_filter: headerFilter,
  log,
};

export default responseRateLimiting;
