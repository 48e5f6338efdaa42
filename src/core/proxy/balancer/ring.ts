/**
 * `consistent-hashing`: Kong's Ketama-style continuum
 * (kong/runloop/balancer/consistent_hashing.lua). The ring has `slots`
 * points (Kong clamps to at least 1000); each address gets
 * floor(weight / totalWeight × targets × 160) points at
 * xxhash32("<ip>::<port> <i>") mod slots (the double colon is Kong's),
 * collisions moving on to the next i. A request's key hashes to a point;
 * the first address at or counter-clockwise from it serves it.
 *
 * Points depend only on each address's own identity and weight share, so
 * removing one of N equally weighted targets moves only the keys that were
 * on it (~1/N), and adding one takes ~1/(N+1) from the others. Health does
 * not rebuild the ring: an unavailable address is passed over at pick time
 * and gets its keys back when it recovers. Keys hash with the same function
 * and ring as Kong, so a key goes to the same address as in Kong.
 */
import type { Address } from './address.ts';
import { available, type Algorithm } from './algorithm.ts';
import { xxhash32 } from './xxhash32.ts';

const MIN_CONTINUUM_SIZE = 1000;
const DEFAULT_CONTINUUM_SIZE = 1000;
const SERVER_POINTS = 160;

/** Kong's ring size for an upstream's `slots`. */
export function continuumSize(slots: number): number {
  return slots >= MIN_CONTINUUM_SIZE ? slots : DEFAULT_CONTINUUM_SIZE;
}

/** Kong sorts targets by name then port, addresses by "ip:port", so collisions resolve the same way every time. */
function sorted(addresses: readonly Address[]): Address[] {
  return [...addresses].sort((a, b) => {
    const ta = a.target.name;
    const tb = b.target.name;
    if (ta !== tb) return ta < tb ? -1 : 1;
    if (a.target.port !== b.target.port) return a.target.port - b.target.port;
    const ka = `${a.ip}:${a.port}`;
    const kb = `${b.ip}:${b.port}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

export class Ring implements Algorithm {
  readonly points: number;
  private addresses: Address[] = [];
  /** Index into `addresses` per ring point, -1 when empty. */
  private continuum: Int32Array;

  constructor(slots: number) {
    this.points = continuumSize(slots);
    this.continuum = new Int32Array(this.points).fill(-1);
  }

  rebuild(addresses: readonly Address[]): void {
    const points = this.points;
    const list = sorted(addresses);
    const continuum = new Int32Array(points).fill(-1);
    let totalWeight = 0;
    const targets = new Set<unknown>();
    for (const a of list) {
      totalWeight += a.weight;
      targets.add(a.target);
    }
    for (let k = 0; k < list.length; k++) {
      const a = list[k]!;
      let entries = Math.floor((a.weight / totalWeight) * targets.size * SERVER_POINTS);
      if (a.weight > 0 && entries === 0) entries = 1;
      for (let i = 1; i <= entries; i++) {
        const index = xxhash32(`${a.ip}::${a.port} ${i}`) % points;
        if (continuum[index] === -1) continuum[index] = k;
        else entries++; // Kong: "move the problem forward"
        if (i > points) break; // more points wanted than the ring has (Kong logs and stops)
      }
    }
    this.addresses = list;
    this.continuum = continuum;
  }

  /** The ring point of a request key (Kong: xxhash32(tostring(value)) % points). */
  pointOf(key: string): number {
    return xxhash32(key) % this.points;
  }

  pick(point: number, avoid: Address | null): Address | null {
    const continuum = this.continuum;
    const addrs = this.addresses;
    const points = this.points;
    let index = point;
    let fallback = false;
    for (let n = 0; n < points; n++) {
      const k = continuum[index]!;
      if (k !== -1) {
        const a = addrs[k]!;
        if (available(a)) {
          if (a !== avoid) return a;
          fallback = true;
        }
      }
      index = index === 0 ? points - 1 : index - 1; // counter-clockwise, as Kong walks
    }
    return fallback ? avoid : null;
  }
}
