/**
 * Route compilation time: the generated 10,000-route declarative file
 * (bench/lib/routes.ts, the scenario (e) mix) is parsed and validated once,
 * then compileRouter() runs `--repeat` times; the median is the figure of the
 * budget ("route compilation for 10,000 routes < 1 s").
 *
 *   node bench/micro/route-compile.ts [--routes 10000] [--repeat 5] [--json]
 */
import { parseDeclarative } from '../../src/store/declarative/index.ts';
import { compileRouter } from '../../src/core/router/compile.ts';
import { routesDocument } from '../lib/routes.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
}

const routes = arg('routes', 10_000);
const repeat = arg('repeat', 5);
const json = process.argv.includes('--json');

const text = JSON.stringify(routesDocument(routes, 'http://127.0.0.1:9/'));
const t0 = performance.now();
const parsed = parseDeclarative(text, { format: 'json' });
const parseMs = performance.now() - t0;
if (!parsed.ok) throw new Error(`generated configuration is invalid: ${parsed.message}`);
const runs: number[] = [];
let size = 0;
for (let i = 0; i < repeat; i++) {
  const t = performance.now();
  const router = compileRouter(parsed.config.routes, parsed.config.services);
  runs.push(performance.now() - t);
  size = router.size;
}
const sorted = [...runs].sort((a, b) => a - b);
const compileMs = sorted[Math.floor(sorted.length / 2)]!;
if (json) {
  process.stdout.write(`${JSON.stringify({ routes, compileMs, parseMs, runs })}\n`);
} else {
  process.stdout.write(`\nroute compilation, ${routes.toLocaleString('en')} routes (router size ${size})\n`);
  process.stdout.write(`  parse + validate declarative file  ${parseMs.toFixed(1)} ms\n`);
  process.stdout.write(`  compileRouter (median of ${repeat})      ${compileMs.toFixed(1)} ms   runs: ${runs.map((r) => r.toFixed(1)).join(', ')}\n`);
}
