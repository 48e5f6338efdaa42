/**
 * Router hot path: Router.match() on tables of 1, 1,000 and 10,000 routes
 * (the scenario (e) mix: prefix, host, regex), rotating over 100 requests
 * spread across each table, plus a miss (404) on the largest table.
 *
 *   node bench/micro/route-match.ts [--json]
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseDeclarative } from '../../src/store/declarative/index.ts';
import { compileRouter } from '../../src/core/router/compile.ts';
import { normalizePath } from '../../src/core/router/normalize.ts';
import type { Router, RouterInput } from '../../src/core/router/types.ts';
import { routesDocument, sampleRequests } from '../lib/routes.ts';
import { benchSync, printResults, type MicroResult } from './harness.ts';

function routerFor(count: number): Router {
  const doc = count === 1
    ? { _format_version: '3.0', services: [{ name: 's', url: 'http://127.0.0.1:9/', routes: [{ name: 'all', paths: ['/'] }] }] }
    : routesDocument(count, 'http://127.0.0.1:9/');
  const parsed = parseDeclarative(JSON.stringify(doc), { format: 'json' });
  if (!parsed.ok) throw new Error(parsed.message);
  return compileRouter(parsed.config.routes, parsed.config.services);
}

/** What the proxy hands the router for one request (host lower-cased, path normalised). */
function inputs(count: number): RouterInput[] {
  return sampleRequests(count, 100).map((r) => {
    const host = (r.headers?.Host ?? 'localhost').toLowerCase();
    const headers: IncomingHttpHeaders = { host, 'user-agent': 'bench', accept: '*/*' };
    return { method: 'GET', host, port: 8000, path: normalizePath(r.path) ?? '/', headers, sni: null, scheme: 'http' };
  });
}

export function runRouteMatch(minMs = 1000): MicroResult[] {
  const results: MicroResult[] = [];
  for (const count of [1, 1000, 10_000]) {
    const router = routerFor(count);
    const ins = inputs(count === 1 ? 10_000 : count);
    for (const i of ins) if (router.match(i) === null) throw new Error(`no route for ${i.host}${i.path} in the ${count}-route table`);
    results.push(benchSync(`match, ${count.toLocaleString('en')} route${count === 1 ? '' : 's'} (100-request mix)`, (k) => router.match(ins[k % ins.length]!), { minMs }));
    if (count === 10_000) {
      const miss: RouterInput = { method: 'GET', host: 'nowhere.test', port: 8000, path: '/no/such/route', headers: { host: 'nowhere.test' }, sni: null, scheme: 'http' };
      results.push(benchSync('match miss (404), 10,000 routes', () => router.match(miss), { minMs }));
    }
  }
  return results;
}

if (import.meta.main) {
  const results = runRouteMatch();
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(results)}\n`);
  else printResults('route match', results);
}
