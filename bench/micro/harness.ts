/**
 * A tiny micro-benchmark loop (no dependency): warm up, then time batches of
 * calls with process.hrtime.bigint() until `minMs` have passed; report the
 * median time per call over the batches. Results feed a sink so the
 * optimiser cannot drop the work.
 */

export interface MicroResult {
  name: string;
  nsPerOp: number;
  opsPerSec: number;
  /** Relative spread of the batches: (p90 − p10) / median. */
  spread: number;
  batches: number;
}

let sink: unknown = null;
/** Keep a value alive (call from benchmarked functions). */
export function consume(v: unknown): void {
  sink = v;
}
export function sinkValue(): unknown {
  return sink;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** Synchronous function of the iteration index. */
export function benchSync(name: string, fn: (i: number) => unknown, opts: { minMs?: number; warmupMs?: number } = {}): MicroResult {
  const minNs = BigInt(Math.round((opts.minMs ?? 1000) * 1e6));
  const warmNs = BigInt(Math.round((opts.warmupMs ?? 200) * 1e6));
  let batch = 1;
  // Warm up and size the batch to ~5 ms.
  let start = process.hrtime.bigint();
  let i = 0;
  while (process.hrtime.bigint() - start < warmNs) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < batch; k++) sink = fn(i++);
    const dt = process.hrtime.bigint() - t0;
    if (dt < 5_000_000n) batch *= 2;
  }
  const perOp: number[] = [];
  start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < minNs || perOp.length < 10) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < batch; k++) sink = fn(i++);
    perOp.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  const med = median(perOp);
  return { name, nsPerOp: med, opsPerSec: 1e9 / med, spread: (quantile(perOp, 0.9) - quantile(perOp, 0.1)) / med, batches: perOp.length };
}

/** Async function of the iteration index (awaited one at a time). */
export async function benchAsync(name: string, fn: (i: number) => Promise<unknown>, opts: { minMs?: number; warmupMs?: number } = {}): Promise<MicroResult> {
  const minNs = BigInt(Math.round((opts.minMs ?? 1000) * 1e6));
  const warmNs = BigInt(Math.round((opts.warmupMs ?? 200) * 1e6));
  let batch = 1;
  let start = process.hrtime.bigint();
  let i = 0;
  while (process.hrtime.bigint() - start < warmNs) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < batch; k++) sink = await fn(i++);
    if (process.hrtime.bigint() - t0 < 5_000_000n) batch *= 2;
  }
  const perOp: number[] = [];
  start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < minNs || perOp.length < 10) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < batch; k++) sink = await fn(i++);
    perOp.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  const med = median(perOp);
  return { name, nsPerOp: med, opsPerSec: 1e9 / med, spread: (quantile(perOp, 0.9) - quantile(perOp, 0.1)) / med, batches: perOp.length };
}

function fmtNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

export function printResults(title: string, results: MicroResult[]): void {
  process.stdout.write(`\n${title}\n`);
  const w = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    process.stdout.write(`  ${r.name.padEnd(w)}  ${fmtNs(r.nsPerOp).padStart(10)}/op  ${Math.round(r.opsPerSec).toLocaleString('en').padStart(13)} ops/s  ±${(r.spread * 50).toFixed(1)}%\n`);
  }
}
