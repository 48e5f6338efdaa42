/**
 * `round-robin` (Kong's default): weighted, so a target of weight 200 gets
 * twice the requests of one of weight 100. Kong walks a shuffled wheel of
 * weight/gcd slots per address (round_robin.lua); smooth weighted
 * round-robin (nginx's) gives the same proportions, interleaved, without a
 * wheel. Unavailable addresses are skipped and the proportions hold among
 * the rest.
 */
import type { Address } from './address.ts';
import { available, type Algorithm } from './algorithm.ts';

export class RoundRobin implements Algorithm {
  private addresses: readonly Address[] = [];
  private current: number[] = [];

  rebuild(addresses: readonly Address[]): void {
    this.addresses = addresses;
    this.current = addresses.map(() => 0);
  }

  pick(_hash: number, avoid: Address | null): Address | null {
    const addrs = this.addresses;
    const cur = this.current;
    const n = addrs.length;
    let best = -1;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const a = addrs[i]!;
      if (a === avoid || !available(a)) continue;
      cur[i]! += a.weight;
      total += a.weight;
      if (best === -1 || cur[i]! > cur[best]!) best = i;
    }
    if (best === -1) return avoid !== null && available(avoid) ? avoid : null;
    cur[best]! -= total;
    return addrs[best]!;
  }
}
