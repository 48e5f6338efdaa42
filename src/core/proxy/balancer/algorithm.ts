/**
 * What every balancing algorithm offers the Balancer (balancer.ts). Kong:
 * kong/runloop/balancer/{round_robin,consistent_hashing,least_connections,latency}.lua,
 * each with `afterHostUpdate` (rebuild) and `getPeer` (pick).
 */
import type { Address } from './address.ts';
import { MOSTLY_UNHEALTHY } from './health-state.ts';

export interface Algorithm {
  /** The set of addresses changed (configuration or DNS): rebuild the structure. */
  rebuild(addresses: readonly Address[]): void;
  /**
   * The address for a try, or null when none is available. `avoid` is the
   * address the previous try of this request failed on: it is chosen again
   * only when no other address is available. `hash` is the request's key
   * (consistent-hashing only).
   */
  pick(hash: number, avoid: Address | null): Address | null;
}

/** Takes traffic: healthy or mostly healthy (lua-resty-healthcheck). */
export function available(a: Address): boolean {
  return a.health.state < MOSTLY_UNHEALTHY;
}
