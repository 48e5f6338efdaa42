/**
 * npm run fuzz — the differential fuzz of our HTTP/1.1 parsers against
 * llhttp, for as long as asked:
 *   node test/fuzz/run.ts [--messages 1000000] [--seconds 3600] [--seed N] [--side request|response|both] [--index I]
 * The budget (messages or seconds, whichever first) applies to each side.
 * FUZZ_SEED sets the seed too; `--index I` replays one case and prints it.
 * Exits 1 when a difference no KNOWN_BUGS entry explains was found.
 */
import { parseArgs } from 'node:util';
import { seedOf } from './prng.ts';
import { formatTally, generate, runSide, sum, type Side } from './harness.ts';
import { compareRequestCase, compareResponseCase } from './compare.ts';
import type { ResponseCase } from './generators.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '3600' },
    seed: { type: 'string' },
    side: { type: 'string', default: 'both' },
    index: { type: 'string' },
  },
});
const seed = seedOf(values.seed ?? process.env.FUZZ_SEED);
const sides: Side[] = values.side === 'both' ? ['request', 'response'] : [values.side as Side];

if (values.index !== undefined) {
  for (const side of sides) {
    const c = generate(side, seed, Number(values.index));
    const v = side === 'request' ? compareRequestCase(c) : [compareResponseCase(c as ResponseCase)];
    console.log(side, JSON.stringify({ bytes: c.bytes.toString('latin1'), cuts: c.cuts, ...('head' in c ? { head: c.head, start: c.start } : {}) }));
    console.log(JSON.stringify(v, null, 2));
  }
  process.exit(0);
}

console.log(`differential fuzz vs llhttp ${process.versions.llhttp} (node ${process.version}), seed ${seed} (FUZZ_SEED=${seed} to repeat)`);
let failed = false;
for (const side of sides) {
  const t = runSide(side, { seed, messages: Number(values.messages), seconds: Number(values.seconds) });
  console.log(formatTally(t));
  if (sum(t.different) > 0) failed = true;
}
process.exit(failed ? 1 : 0);
