/**
 * The fuzz loop shared by the CI test and `npm run fuzz`: generate message i
 * of a seeded run, compare, tally (same / ours-stricter per reason / known
 * bug per id / DIFFERENT), stop at a message or time budget, and keep a
 * minimised repro of every unknown difference.
 */
import { messageRng } from './prng.ts';
import { genRequest, genResponse, type RequestCase, type ResponseCase } from './generators.ts';
import { compareRequestCase, compareResponseCase, type Verdict } from './compare.ts';
import { knownBug } from './known-bugs.ts';

export type Side = 'request' | 'response';

export interface Repro {
  side: Side;
  seed: number;
  index: number;
  reason: string;
  detail: string;
  /** The bytes, latin1, as a JSON string. */
  bytes: string;
  cuts: number[];
  head?: boolean;
  start?: number;
}

export interface Tally {
  side: Side;
  seed: number;
  /** Generated cases (a request case may hold several pipelined messages). */
  cases: number;
  /** Compared messages (verdicts). */
  messages: number;
  ms: number;
  same: Map<string, number>;
  stricter: Map<string, number>;
  known: Map<string, number>;
  different: Map<string, number>;
  repros: Repro[];
}

type AnyCase = RequestCase | ResponseCase;
type Different = Extract<Verdict, { result: 'different' }>;

export function generate(side: Side, seed: number, index: number): AnyCase {
  const rng = messageRng(seed, index);
  return side === 'request' ? genRequest(rng) : genResponse(rng);
}

function verdicts(side: Side, c: AnyCase): Verdict[] {
  return side === 'request' ? compareRequestCase(c) : [compareResponseCase(c as ResponseCase)];
}

const bump = (m: Map<string, number>, k: string): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};

/** The first difference in `c` that no known bug explains. */
export function unknownDifference(side: Side, c: AnyCase): Different | undefined {
  const text = c.bytes.toString('latin1');
  for (const v of verdicts(side, c)) if (v.result === 'different' && knownBug(side, v, text) === undefined) return v;
  return undefined;
}

/** Shrink a failing case: drop the read splits, then delete byte ranges while the same unknown difference remains. */
export function minimise(side: Side, c: AnyCase, reason: string): AnyCase {
  const fails = (x: AnyCase): boolean => unknownDifference(side, x)?.reason === reason;
  let best: AnyCase = c;
  const noCuts = { ...best, cuts: [] };
  if (fails(noCuts)) best = noCuts;
  const start = 'start' in best ? best.start : 0;
  for (let size = Math.max(1, best.bytes.length >> 1); size >= 1; size >>= 1) {
    for (let at = start; at + size <= best.bytes.length; ) {
      const bytes = Buffer.concat([best.bytes.subarray(0, at), best.bytes.subarray(at + size)]);
      const next = { ...best, bytes, cuts: best.cuts.filter((x) => x < bytes.length) };
      if (fails(next)) best = next;
      else at += size;
    }
  }
  return best;
}

export interface RunOptions {
  seed: number;
  /** Budget per side: whichever of the two comes first. */
  messages: number;
  seconds: number;
  /** Cases with an unknown difference to minimise and keep (the rest are only counted). */
  maxRepros?: number;
  firstIndex?: number;
}

export function runSide(side: Side, opts: RunOptions): Tally {
  const t: Tally = { side, seed: opts.seed, cases: 0, messages: 0, ms: 0, same: new Map(), stricter: new Map(), known: new Map(), different: new Map(), repros: [] };
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;
  const maxRepros = opts.maxRepros ?? 20;
  for (let i = opts.firstIndex ?? 0; t.messages < opts.messages; i++) {
    if ((i & 255) === 0 && performance.now() > deadline) break;
    const c = generate(side, opts.seed, i);
    t.cases++;
    const text = c.bytes.toString('latin1');
    for (const v of verdicts(side, c)) {
      t.messages++;
      if (v.result === 'same') bump(t.same, v.reason);
      else if (v.result === 'ours-stricter') bump(t.stricter, v.reason);
      else {
        const kb = knownBug(side, v, text);
        if (kb !== undefined) {
          bump(t.known, kb.id);
          continue;
        }
        bump(t.different, v.reason);
        if (t.repros.length < maxRepros) {
          const m = minimise(side, c, v.reason);
          const d = unknownDifference(side, m) ?? v;
          t.repros.push({
            side,
            seed: opts.seed,
            index: i,
            reason: d.reason,
            detail: d.result === 'different' ? d.detail : '',
            bytes: JSON.stringify(m.bytes.toString('latin1')),
            cuts: m.cuts,
            ...('head' in m ? { head: m.head, start: m.start } : {}),
          });
        }
      }
    }
  }
  t.ms = performance.now() - t0;
  return t;
}

export function sum(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

export function formatTally(t: Tally): string {
  const lines: string[] = [];
  const rate = t.messages / (t.ms / 1000);
  lines.push(`${t.side}: ${t.messages} messages (${t.cases} cases) in ${(t.ms / 1000).toFixed(1)} s — ${Math.round(rate)} msg/s, seed ${t.seed}`);
  const section = (title: string, m: Map<string, number>): void => {
    lines.push(`  ${title}: ${sum(m)}`);
    for (const [k, n] of [...m].sort((a, b) => b[1] - a[1])) lines.push(`    ${String(n).padStart(9)}  ${k}`);
  };
  section('same', t.same);
  section('ours-stricter (allowed)', t.stricter);
  section('known bugs (KNOWN_BUGS)', t.known);
  section('DIFFERENT', t.different);
  for (const r of t.repros) lines.push(`  DIFFERENT repro (FUZZ_SEED=${r.seed}, index ${r.index}): ${JSON.stringify({ reason: r.reason, detail: r.detail, bytes: JSON.parse(r.bytes), cuts: r.cuts, head: r.head, start: r.start })}`);
  return lines.join('\n');
}
