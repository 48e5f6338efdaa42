/**
 * `least-connections`: the address with the fewest tries in flight relative
 * to its weight, scored (connections + 1) / weight as Kong does so that,
 * with nothing in flight, the heaviest address is chosen first
 * (least_connections.lua). Kong keeps a binary heap; upstreams have few
 * addresses, so a scan is as fast and needs no re-heaping per request.
 * Ties go to the first address in target order.
 */
import type { Address } from './address.ts';
import { available, type Algorithm } from './algorithm.ts';

export class LeastConnections implements Algorithm {
  private addresses: readonly Address[] = [];

  rebuild(addresses: readonly Address[]): void {
    this.addresses = addresses;
  }

  pick(_hash: number, avoid: Address | null): Address | null {
    const addrs = this.addresses;
    let best: Address | null = null;
    let bestScore = Infinity;
    for (let i = 0; i < addrs.length; i++) {
      const a = addrs[i]!;
      if (a === avoid || !available(a)) continue;
      const score = (a.connections + 1) / a.weight;
      if (score < bestScore) {
        best = a;
        bestScore = score;
      }
    }
    if (best === null) return avoid !== null && available(avoid) ? avoid : null;
    return best;
  }
}
