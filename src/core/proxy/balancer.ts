/**
 * Target selection for services whose host names an Upstream entity
 * (Kong's ring-balancer, `round-robin` algorithm): smooth weighted
 * round-robin over the upstream's targets, so a target with weight 200 gets
 * twice the requests of one with weight 100, interleaved rather than in bursts.
 *
 * Balancer state lives per targets array (one per Runtime), so a config change
 * starts a fresh rotation and an unchanged Runtime keeps its position.
 * Other algorithms (consistent-hashing, least-connections, latency) fall back
 * to round-robin; health checks are not evaluated here.
 */
import type { TargetEntity, UpstreamEntity } from '../../schema/entities/types.ts';

export interface Peer {
  /** Address to connect to (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Host as written in the target, for the Host header (IPv6 in brackets). */
  readonly hostHeader: string;
}

/** Kong's default target port. */
const DEFAULT_TARGET_PORT = 8000;

/** `host`, `host:port`, `[v6]`, `[v6]:port` → Peer (Kong's target syntax). */
export function parseTarget(target: string): Peer {
  let host: string;
  let port = DEFAULT_TARGET_PORT;
  if (target.startsWith('[')) {
    const close = target.indexOf(']');
    host = target.slice(1, close);
    if (target.charCodeAt(close + 1) === 58 /* : */) port = Number(target.slice(close + 2));
    return { host, port, hostHeader: `[${host}]` };
  }
  const colon = target.lastIndexOf(':');
  if (colon !== -1 && target.indexOf(':') === colon) {
    host = target.slice(0, colon);
    port = Number(target.slice(colon + 1));
  } else {
    host = target; // a bare IPv6 address has several colons and no port
  }
  return { host, port, hostHeader: host.indexOf(':') !== -1 ? `[${host}]` : host };
}

export class RoundRobin {
  readonly peers: readonly Peer[];
  private readonly weights: number[];
  private readonly current: number[];
  private readonly total: number;

  constructor(targets: readonly TargetEntity[]) {
    // One entry per target string: the most recent definition wins (Kong upserts targets by name).
    const latest = new Map<string, TargetEntity>();
    for (const t of targets) {
      const prev = latest.get(t.target);
      if (prev === undefined || prev.created_at <= t.created_at) latest.set(t.target, t);
    }
    const peers: Peer[] = [];
    const weights: number[] = [];
    for (const t of latest.values()) {
      if (t.weight <= 0) continue;
      peers.push(parseTarget(t.target));
      weights.push(t.weight);
    }
    this.peers = peers;
    this.weights = weights;
    this.current = weights.map(() => 0);
    this.total = weights.reduce((a, b) => a + b, 0);
  }

  /** Next peer, or null when the upstream has no usable target. */
  next(): Peer | null {
    const n = this.peers.length;
    if (n === 0) return null;
    if (n === 1) return this.peers[0]!;
    const cur = this.current;
    let best = 0;
    for (let i = 0; i < n; i++) {
      cur[i]! += this.weights[i]!;
      if (cur[i]! > cur[best]!) best = i;
    }
    cur[best]! -= this.total;
    return this.peers[best]!;
  }
}

const balancers = new WeakMap<readonly TargetEntity[], RoundRobin>();

/** The balancer of an upstream entry of a Runtime (created on first use). */
export function balancerFor(entry: { upstream: UpstreamEntity; targets: TargetEntity[] }): RoundRobin {
  let b = balancers.get(entry.targets);
  if (b === undefined) {
    b = new RoundRobin(entry.targets);
    balancers.set(entry.targets, b);
  }
  return b;
}
