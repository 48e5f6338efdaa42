/**
 * A small seeded PRNG (sfc32) for the differential fuzzer: every message is
 * generated from its own seed, derived from the run seed and the message
 * index, so one message can be regenerated alone (FUZZ_SEED + index).
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9;
    this.b = seed | 0;
    this.c = stream | 0;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Pick from [weight, item] pairs. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    let total = 0;
    for (const [w] of items) total += w;
    let r = this.int(total);
    for (const [w, item] of items) {
      if (r < w) return item;
      r -= w;
    }
    return items[items.length - 1]![1];
  }
}

/** A 32-bit seed from a string or number (FUZZ_SEED may be either). */
export function seedOf(value: string | number | undefined): number {
  if (value === undefined || value === '') return (Math.random() * 4294967296) >>> 0;
  const n = Number(value);
  if (Number.isInteger(n)) return n >>> 0;
  let h = 2166136261;
  for (let i = 0; i < String(value).length; i++) h = Math.imul(h ^ String(value).charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The PRNG for message `index` of a run seeded with `seed`. */
export function messageRng(seed: number, index: number): Rng {
  return new Rng(seed, Math.imul(index + 1, 0x85ebca6b) ^ index);
}
