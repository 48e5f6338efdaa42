/**
 * The health data the Admin API shows, in Kong's shapes
 * (kong/runloop/balancer/healthcheckers.lua get_upstream_health /
 * get_balancer_health, balancers.lua getTargetStatus / getStatus,
 * kong/db/dao/targets.lua page_for_upstream_with_health).
 */
import type { TargetState } from './address.ts';
import { available } from './algorithm.ts';
import type { Balancer } from './balancer.ts';

export interface AddressHealth {
  ip: string;
  port: number;
  weight: number;
  health: 'HEALTHY' | 'UNHEALTHY' | 'HEALTHCHECKS_OFF';
}

export interface TargetHealthData {
  host: string;
  port: number;
  dns: string;
  nodeWeight: number;
  weight: { total: number; unavailable: number; available: number };
  addresses: AddressHealth[];
}

export type TargetHealthState = 'HEALTHY' | 'UNHEALTHY' | 'DNS_ERROR' | 'HEALTHCHECKS_OFF';

function weights(t: TargetState): { total: number; unavailable: number; available: number } {
  let total = 0;
  let unavailable = 0;
  for (const a of t.addresses) {
    total += a.weight;
    if (!available(a)) unavailable += a.weight;
  }
  return { total, unavailable, available: total - unavailable };
}

/** getTargetStatus with each address's `health` (healthcheckers.lua get_upstream_health). */
export function targetData(b: Balancer, t: TargetState): TargetHealthData {
  const checked = b.checked && t.weight > 0;
  return {
    host: t.hostHeader,
    port: t.port,
    dns: t.dns,
    nodeWeight: t.weight,
    weight: weights(t),
    addresses: t.addresses.map((a) => ({
      ip: a.ip,
      port: a.port,
      weight: a.weight,
      health: checked ? (available(a) ? 'HEALTHY' : 'UNHEALTHY') : 'HEALTHCHECKS_OFF',
    })),
  };
}

/** A target's overall health: HEALTHY if any address is, DNS_ERROR without addresses (targets.lua). */
export function targetHealth(data: TargetHealthData | undefined): TargetHealthState {
  if (data === undefined || data.addresses.length === 0) return 'DNS_ERROR';
  let health: TargetHealthState = 'HEALTHCHECKS_OFF';
  for (const a of data.addresses) {
    if (a.health === 'HEALTHY') return 'HEALTHY';
    if (a.health === 'UNHEALTHY') health = 'UNHEALTHY';
  }
  return health;
}

/** Health data of every target of a balancer, by `target` (host:port). */
export function upstreamHealth(b: Balancer): Map<string, TargetHealthData> {
  const out = new Map<string, TargetHealthData>();
  for (const t of b.targets) out.set(t.key, targetData(b, t));
  return out;
}

/** `?balancer_health=1`: get_balancer_health. */
export function balancerHealth(b: Balancer): Record<string, unknown> {
  let total = 0;
  let unavailable = 0;
  for (const t of b.targets) {
    const w = weights(t);
    total += w.total;
    unavailable += w.unavailable;
  }
  const healthy = b.healthy();
  const balancerHealthState = healthy ? 'HEALTHY' : 'UNHEALTHY';
  return {
    health: b.checked ? balancerHealthState : 'HEALTHCHECKS_OFF',
    balancer_health: balancerHealthState,
    id: b.id,
    details: {
      healthy,
      weight: { total, unavailable, available: total - unavailable },
      hosts: b.targets.map((t) => {
        const d = targetData(b, t);
        return { ...d, addresses: t.addresses.map((a) => ({ ip: a.ip, port: a.port, weight: a.weight, healthy: available(a) })) };
      }),
    },
  };
}
