/**
 * The balancer of one upstream in one Runtime (Kong's ring-balancer,
 * kong/runloop/balancer/balancers.lua): its targets, their addresses (DNS
 * for host names), the algorithm, and what real traffic reports for
 * passive health checks.
 *
 * Built with the Runtime (runtime.ts) and closed when the Runtime is
 * disposed. Health lives outside it (health-state.ts), so a configuration
 * change keeps every address's state; in-flight counts and latency averages
 * start afresh.
 */
import type { Healthchecks, TargetEntity, UpstreamEntity } from '../../../schema/entities/types.ts';
import { Address, TargetState } from './address.ts';
import { available, type Algorithm } from './algorithm.ts';
import { resolveName } from './dns.ts';
import { compileHash, type HashSpec } from './hash-input.ts';
import { HEALTHY, OBS_HTTP_FAILURE, OBS_SUCCESS, OBS_TCP_FAILURE, OBS_TIMEOUT, UNHEALTHY, reportPassive } from './health-state.ts';
import { Latency } from './latency.ts';
import { LeastConnections } from './least-connections.ts';
import { Ring } from './ring.ts';

/**
 * Node's longest timer (2^31 − 1 ms, ~24.8 days): a longer delay (a hosts-file
 * name's 10-year TTL) is replaced by 1 ms with a TimeoutOverflowWarning, which
 * re-resolved the name in a loop.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;
import { RoundRobin } from './round-robin.ts';

/** Kong's defaults (upstreams.lua healthchecks_config): no probes, no circuit breaker. */
export const DEFAULT_HEALTHCHECKS: Healthchecks = Object.freeze({
  active: {
    type: 'http',
    timeout: 1,
    concurrency: 10,
    http_path: '/',
    https_verify_certificate: true,
    healthy: { interval: 0, http_statuses: [200, 302], successes: 0 },
    unhealthy: { interval: 0, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], tcp_failures: 0, timeouts: 0, http_failures: 0 },
  },
  passive: {
    type: 'http',
    healthy: { http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308], successes: 0 },
    unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
  },
  threshold: 0,
}) as Healthchecks;

/**
 * Kong's is_upstream_using_healthcheck (healthcheckers.lua): a checker exists
 * when active probing is on or a passive unhealthy threshold is set.
 */
export function usesHealthchecks(hc: Healthchecks): boolean {
  return hc.active.healthy.interval !== 0 || hc.active.unhealthy.interval !== 0 || hc.passive.unhealthy.tcp_failures !== 0 || hc.passive.unhealthy.timeouts !== 0 || hc.passive.unhealthy.http_failures !== 0;
}

/** What real traffic is counted for (lua-resty-healthcheck report_* with check = "passive"). */
interface PassiveSpec {
  /** Statuses are counted (passive.type is not tcp). */
  readonly http: boolean;
  readonly healthyStatuses: ReadonlySet<number>;
  readonly unhealthyStatuses: ReadonlySet<number>;
  readonly successes: boolean;
  readonly httpFailures: boolean;
  readonly tcpFailures: boolean;
  readonly timeouts: boolean;
}

function passiveSpec(hc: Healthchecks): PassiveSpec {
  const p = hc.passive;
  return {
    http: p.type !== 'tcp',
    healthyStatuses: new Set(p.healthy.http_statuses),
    unhealthyStatuses: new Set(p.unhealthy.http_statuses),
    successes: p.healthy.successes > 0,
    httpFailures: p.unhealthy.http_failures > 0,
    tcpFailures: p.unhealthy.tcp_failures > 0,
    timeouts: p.unhealthy.timeouts > 0,
  };
}

/** One entry per target address: the most recent definition wins (Kong upserts targets by address). */
function latestTargets(targets: readonly TargetEntity[]): TargetEntity[] {
  const latest = new Map<string, TargetEntity>();
  for (const t of targets) {
    const prev = latest.get(t.target);
    if (prev === undefined || prev.created_at <= t.created_at) latest.set(t.target, t);
  }
  return [...latest.values()].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
}

export class Balancer {
  readonly upstream: UpstreamEntity;
  readonly id: string;
  /** Every target (weight 0 included: shown by the health endpoint, never balanced to). */
  readonly targets: readonly TargetState[];
  /** The addresses balanced over (targets with weight > 0). */
  addresses: Address[];
  readonly algorithm: Algorithm;
  /** consistent-hashing: the ring and the request-key inputs. */
  readonly ring: Ring | null;
  readonly hash: HashSpec | null;
  /** latency: where response times go. */
  readonly latency: Latency | null;
  /** A health checker runs for this upstream (otherwise every address is HEALTHCHECKS_OFF). */
  readonly checked: boolean;
  /** healthchecks.threshold: % of weight that must be available for the upstream to take traffic. */
  readonly threshold: number;
  readonly passive: PassiveSpec | null;
  /** First resolution of host-name targets still under way; requests wait for it. */
  ready: Promise<void> | null;
  closed: boolean;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(upstream: UpstreamEntity, targets: readonly TargetEntity[]) {
    this.upstream = upstream;
    this.id = upstream.id;
    const hc = upstream.healthchecks ?? DEFAULT_HEALTHCHECKS; // literals built outside validation may lack it
    this.checked = usesHealthchecks(hc);
    this.threshold = hc.threshold;
    this.passive = this.checked ? passiveSpec(hc) : null;
    this.hash = compileHash(upstream);
    this.ring = null;
    this.latency = null;
    switch (upstream.algorithm) {
      case 'consistent-hashing':
        this.algorithm = this.ring = new Ring(upstream.slots);
        break;
      case 'least-connections':
        this.algorithm = new LeastConnections();
        break;
      case 'latency':
        this.algorithm = this.latency = new Latency();
        break;
      default:
        this.algorithm = new RoundRobin();
    }
    this.closed = false;
    this.ready = null;
    const states = latestTargets(targets).map((t) => new TargetState(t));
    this.targets = states;
    const pending: Array<Promise<void>> = [];
    for (const t of states) {
      if (t.isName) pending.push(this.resolve(t));
      else t.addresses = [this.address(t, t.name)];
    }
    this.addresses = [];
    this.rebuild();
    if (pending.length > 0) {
      this.ready = Promise.all(pending).then(() => {
        this.ready = null;
      });
    }
  }

  private address(t: TargetState, ip: string): Address {
    return new Address(this.id, t, ip, this.checked && t.weight > 0, this.upstream.host_header ?? null);
  }

  private rebuild(): void {
    const list: Address[] = [];
    for (const t of this.targets) if (t.weight > 0) for (const a of t.addresses) list.push(a);
    this.addresses = list;
    this.algorithm.rebuild(list);
  }

  /** Resolve a host-name target, then again when its TTL runs out (or 30 s after a failure). */
  private async resolve(t: TargetState): Promise<void> {
    const r = await resolveName(t.name);
    if (this.closed) return;
    t.dns = r.source;
    t.dnsError = r.ips.length === 0;
    const before = t.addresses.map((a) => a.ip).join(',');
    if (r.ips.join(',') !== before) {
      const old = new Map(t.addresses.map((a) => [a.ip, a]));
      t.addresses = r.ips.map((ip) => old.get(ip) ?? this.address(t, ip));
      this.rebuild();
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.resolve(t);
    }, Math.min(r.ttl * 1000, MAX_TIMER_MS));
    timer.unref();
    this.timers.add(timer);
  }

  /** Kong's balancer health: more than `threshold` % of the weight available (balancers.lua updateStatus). */
  healthy(): boolean {
    let total = 0;
    let up = 0;
    for (const a of this.addresses) {
      total += a.weight;
      if (available(a)) up += a.weight;
    }
    return total > 0 && (up / total) * 100 > this.threshold;
  }

  /**
   * The address for a try (null: Kong's "failure to get a peer from the
   * ring-balancer"). `point`: the request's ring point (consistent-hashing).
   */
  pick(point: number, avoid: Address | null): Address | null {
    if (this.threshold > 0 && !this.healthy()) return null;
    return this.algorithm.pick(point, avoid);
  }

  // ---- passive health checks: only what can change a state is reported (most requests report nothing)

  /** The upstream answered with `status` (Kong's log phase: 504 counts as a timeout). */
  observeStatus(a: Address, status: number): void {
    const p = this.passive;
    if (p === null) return;
    const state = a.health.state;
    if (status === 504) {
      if (p.timeouts && state !== UNHEALTHY) reportPassive(a.key, OBS_TIMEOUT);
      return;
    }
    if (!p.http) return;
    if (p.healthyStatuses.has(status)) {
      if (p.successes && state !== HEALTHY) reportPassive(a.key, OBS_SUCCESS);
    } else if (p.unhealthyStatuses.has(status)) {
      if (p.httpFailures && state !== UNHEALTHY) reportPassive(a.key, OBS_HTTP_FAILURE);
    }
  }

  /** A try failed to connect or exchange (`timeout`: a timeout of any kind). */
  observeFailure(a: Address, timeout: boolean): void {
    const p = this.passive;
    if (p === null || a.health.state === UNHEALTHY) return;
    if (timeout ? p.timeouts : p.tcpFailures) reportPassive(a.key, timeout ? OBS_TIMEOUT : OBS_TCP_FAILURE);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
