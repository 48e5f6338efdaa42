/**
 * `npm run bench:micro`: every micro-benchmark of the hot spots, in one
 * process, one after the other (route match, JWT verification, plugin chain,
 * header injection, HTTP/1.1 heads), then route compilation in a fresh process. A guide for
 * optimisation work, not part of any test's timing assertions.
 *
 *   npm run bench:micro [-- --json] [-- --time MS]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { printResults, type MicroResult } from './harness.ts';
import { runRouteMatch } from './route-match.ts';
import { runJwtVerify } from './jwt-verify.ts';
import { runPluginChain } from './plugin-chain.ts';
import { runHeaderInjection } from './header-injection.ts';
import { runHttp1 } from './http1.ts';

const json = process.argv.includes('--json');
const t = process.argv.indexOf('--time');
const minMs = t === -1 ? 1000 : Number(process.argv[t + 1]);

const groups: Array<[string, () => MicroResult[] | Promise<MicroResult[]>]> = [
  ['route match', () => runRouteMatch(minMs)],
  ['JWT verification', () => runJwtVerify(minMs)],
  ['plugin chain (access + header_filter + log)', () => runPluginChain(minMs)],
  ['header injection', () => runHeaderInjection(minMs)],
  ['HTTP/1.1 heads (fast lane, upstream client)', () => runHttp1(minMs)],
];
const all: Record<string, MicroResult[]> = {};
for (const [title, run] of groups) {
  const results = await run();
  all[title] = results;
  if (!json) printResults(title, results);
}
const compile = spawnSync(process.execPath, [fileURLToPath(new URL('./route-compile.ts', import.meta.url)), ...(json ? ['--json'] : [])], { encoding: 'utf8' });
if (json) {
  process.stdout.write(`${JSON.stringify({ node: process.version, micro: all, routeCompile: JSON.parse(compile.stdout.trim() || 'null') as unknown })}\n`);
} else {
  process.stdout.write(compile.stdout);
  if (compile.status !== 0) process.stderr.write(compile.stderr);
}
process.exit(compile.status === 0 ? 0 : 1);
