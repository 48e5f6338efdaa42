/**
 * `latency`: the address with the lowest exponentially weighted moving
 * average of its response times, divided by its weight (Kong's latency.lua,
 * after Finagle's PeakEwma). The average decays with a 10 s time constant
 * (DECAY_TIME), so an address that was slow a while ago gets tried again.
 * Averages start at 0 with each balancer (a configuration change or a DNS
 * change rebuilds it); Kong seeds an address added later with the average
 * of the others, which matters only for its first requests.
 * Kong measures connect + response time (upstream_connect_time +
 * upstream_response_time); here, from the try's start to its last byte.
 */
import { performance } from 'node:perf_hooks';
import type { Address } from './address.ts';
import { available, type Algorithm } from './algorithm.ts';

/** Seconds (latency.lua DECAY_TIME). */
const DECAY_TIME_S = 10;

function decayed(a: Address, rtt: number, now: number): number {
  const td = a.ewmaAt === 0 ? Infinity : Math.max(0, (now - a.ewmaAt) / 1000);
  const w = Math.exp(-td / DECAY_TIME_S);
  return a.ewma * w + rtt * (1 - w);
}

export class Latency implements Algorithm {
  private addresses: readonly Address[] = [];

  rebuild(addresses: readonly Address[]): void {
    this.addresses = addresses;
  }

  /** A try ended after `ms` milliseconds. */
  observe(a: Address, ms: number): void {
    const now = performance.now();
    a.ewma = decayed(a, ms / 1000, now);
    a.ewmaAt = now;
  }

  pick(_hash: number, avoid: Address | null): Address | null {
    const addrs = this.addresses;
    const now = performance.now();
    let best: Address | null = null;
    let bestScore = Infinity;
    for (let i = 0; i < addrs.length; i++) {
      const a = addrs[i]!;
      if (a === avoid || !available(a)) continue;
      // Read-only decay toward 0 (latency.lua get_or_update_ewma(…, 0, false)).
      const score = decayed(a, 0, now) / a.weight;
      if (score < bestScore) {
        best = a;
        bestScore = score;
      }
    }
    if (best === null) return avoid !== null && available(avoid) ? avoid : null;
    return best;
  }
}
