/**
 * The node's health checker (Kong: one lua-resty-healthcheck checker per
 * upstream, its state in the node's shared dict). Runs in the single
 * process, or in the cluster primary: it counts observations — passive ones
 * forwarded by the proxies, active ones from its own probes (active-probe.ts)
 * — decides each address's state, applies manual overrides from the Admin
 * API, and tells listeners (the cluster primary pushes every change to the
 * workers) so that every process balances on the same state.
 *
 * Counting follows lua-resty-healthcheck incr_counter: one counter per kind
 * (successes, HTTP failures, TCP failures, timeouts) per address, shared by
 * active and passive checks, each compared with the limit of the check that
 * reported (a limit of 0 disables the kind). A success resets the failure
 * counters and a failure the success counter; reaching a limit makes the
 * address healthy / unhealthy (counters cleared); a first failure of a
 * healthy address makes it "mostly healthy" (still in rotation), a first
 * success of an unhealthy one "mostly unhealthy" (still out).
 */
import type { Logger } from 'pino';
import type { Healthchecks } from '../../../schema/entities/types.ts';
import type { UpstreamEntry } from '../../runtime-types.ts';
import { ActiveProber, activeSpec } from './active-probe.ts';
import type { Balancer } from './balancer.ts';
import {
  HEALTHY,
  MOSTLY_HEALTHY,
  MOSTLY_UNHEALTHY,
  OBS_HTTP_FAILURE,
  OBS_SUCCESS,
  OBS_TCP_FAILURE,
  OBS_TIMEOUT,
  UNHEALTHY,
  addReportSink,
  healthCell,
  healthStates,
  removeReportSink,
  setHealthState,
  upstreamIdOfKey,
  type ReportSink,
} from './health-state.ts';
import { parseTarget } from './address.ts';

/** Limits per observation kind, indexed by OBS_*. */
type Limits = readonly [number, number, number, number];

interface Checker {
  /** JSON of the healthchecks record: a change restarts the probes and counting. */
  readonly config: string;
  readonly active: Limits;
  readonly passive: Limits;
  readonly prober: ActiveProber | null;
}

function limits(h: { successes: number }, u: { http_failures: number; tcp_failures: number; timeouts: number }): Limits {
  const l = [0, 0, 0, 0];
  l[OBS_SUCCESS] = h.successes;
  l[OBS_HTTP_FAILURE] = u.http_failures;
  l[OBS_TCP_FAILURE] = u.tcp_failures;
  l[OBS_TIMEOUT] = u.timeouts;
  return l as unknown as Limits;
}

export type HealthListener = (key: string, state: number) => void;

export class HealthOwner {
  private readonly checkers = new Map<string, Checker>();
  /** The current balancer of every upstream (checked or not), by upstream id. */
  private readonly balancers = new Map<string, Balancer>();
  private readonly counters = new Map<string, Int32Array>();
  private readonly listeners: HealthListener[] = [];
  private readonly log: Logger | null;
  /** Passive observations made in this process (single-process mode). */
  private readonly sink: ReportSink;

  constructor(log: Logger | null) {
    this.log = log;
    this.sink = (key, obs) => this.report(key, obs, false);
  }

  /** Count this process's own proxy traffic (single-process mode; cluster workers report over IPC instead). */
  takeLocalReports(): void {
    addReportSink(this.sink);
  }

  onChange(fn: HealthListener): void {
    this.listeners.push(fn);
  }

  balancer(upstreamId: string): Balancer | undefined {
    return this.balancers.get(upstreamId);
  }

  /** The upstreams of a newly applied Runtime: start, restart or stop checkers. */
  sync(entries: Iterable<UpstreamEntry>): void {
    const seen = new Set<string>();
    this.balancers.clear();
    for (const { balancer: b } of entries) {
      this.balancers.set(b.id, b);
      if (!b.checked) continue;
      seen.add(b.id);
      const hc: Healthchecks = b.upstream.healthchecks;
      const config = JSON.stringify(hc);
      const current = this.checkers.get(b.id);
      if (current?.config === config) continue;
      current?.prober?.stop();
      const spec = activeSpec(hc);
      const id = b.id;
      const prober =
        spec.healthyIntervalMs > 0 || spec.unhealthyIntervalMs > 0
          ? new ActiveProber(spec, () => this.balancers.get(id), (key, obs) => this.report(key, obs, true))
          : null;
      this.checkers.set(b.id, {
        config,
        active: limits(hc.active.healthy, hc.active.unhealthy),
        passive: limits(hc.passive.healthy, hc.passive.unhealthy),
        prober,
      });
    }
    for (const [id, c] of this.checkers) {
      if (seen.has(id)) continue;
      // Checks removed (or the upstream deleted): its state is forgotten, as Kong clears a stopped checker's data.
      c.prober?.stop();
      this.checkers.delete(id);
      this.forget(id);
    }
  }

  private forget(upstreamId: string): void {
    const prefix = `${upstreamId}|`;
    for (const key of this.counters.keys()) if (key.startsWith(prefix)) this.counters.delete(key);
    for (const [key] of healthStates()) if (key.startsWith(prefix)) this.set(key, HEALTHY);
  }

  /** An observation about an address (`active`: from a probe). */
  report(key: string, obs: number, active: boolean): void {
    const checker = this.checkers.get(upstreamIdOfKey(key));
    if (checker === undefined) return;
    const limit = (active ? checker.active : checker.passive)[obs]!;
    if (limit === 0) return;
    const current = healthCell(key).state;
    const success = obs === OBS_SUCCESS;
    if (success ? current === HEALTHY : current === UNHEALTHY) return;
    let c = this.counters.get(key);
    if (c === undefined) this.counters.set(key, (c = new Int32Array(4)));
    c[obs]!++;
    if (success) c[OBS_HTTP_FAILURE] = c[OBS_TCP_FAILURE] = c[OBS_TIMEOUT] = 0;
    else c[OBS_SUCCESS] = 0;
    let next = current;
    if (c[obs]! >= limit) next = success ? HEALTHY : UNHEALTHY;
    else if (current === HEALTHY && !success) next = MOSTLY_HEALTHY;
    else if (current === UNHEALTHY && success) next = MOSTLY_UNHEALTHY;
    if (next === current) return;
    if (next === HEALTHY || next === UNHEALTHY) {
      c.fill(0);
      this.log?.warn({ address: key, health: next === HEALTHY ? 'healthy' : 'unhealthy', check: active ? 'active' : 'passive' }, `[healthchecks] ${key} is ${next === HEALTHY ? 'healthy' : 'unhealthy'}`);
    }
    this.set(key, next);
  }

  private set(key: string, state: number): void {
    setHealthState(key, state);
    for (const fn of this.listeners) fn(key, state);
  }

  /**
   * PUT /upstreams/{u}/targets/{t}/healthy|unhealthy (and /{address}/…):
   * set every address of the target, or the one address, as Kong's
   * post_health does. Returns Kong's error message, or null.
   */
  setManual(upstreamId: string, target: string, address: string | null, healthy: boolean): string | null {
    const b = this.balancers.get(upstreamId);
    if (b === undefined) return `Upstream ${upstreamId} has no balancer`;
    if (!this.checkers.has(upstreamId)) return `no healthchecker found for ${b.upstream.name}`;
    const t = b.targets.find((x) => x.key === target);
    if (t === undefined) return 'target not found';
    let list = t.addresses;
    if (address !== null) {
      const p = parseTarget(address);
      list = list.filter((a) => a.ip === p.host && a.port === p.port);
      if (list.length === 0) return `target not found for ${address}`;
    }
    for (const a of list) {
      this.counters.delete(a.key);
      this.set(a.key, healthy ? HEALTHY : UNHEALTHY);
    }
    return null;
  }

  close(): void {
    removeReportSink(this.sink);
    for (const c of this.checkers.values()) c.prober?.stop();
    this.checkers.clear();
    this.balancers.clear();
  }
}
