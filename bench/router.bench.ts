/**
 * Route matching micro-benchmark: compile time and matches per second for
 * 10,000 mixed routes (prefix, host + prefix, wildcard hosts, regex, headers),
 * compared with a 100-route table so a regression in scaling shows up.
 *
 *   node_modules/.bin/node bench/router.bench.ts
 */
import { performance } from 'node:perf_hooks';
import { compileRouter } from '../src/core/router/compile.ts';
import { normalizePath } from '../src/core/router/normalize.ts';
import type { Router, RouterInput } from '../src/core/router/types.ts';
import type { RouteEntity, ServiceEntity } from '../src/schema/entities/types.ts';
import { routeEntity, serviceEntity } from '../test/helpers/entities.ts';

function service(i: number): ServiceEntity {
  return serviceEntity({ id: `svc-${i}`, created_at: 1, name: `svc-${i}`, host: `u${i}.test`, path: i % 2 === 0 ? '/base' : null });
}

function route(i: number, fields: Partial<RouteEntity>): RouteEntity {
  return routeEntity({ id: `r-${i}`, created_at: 1000 + i, name: `r-${i}`, service: { id: `svc-${i % 100}` }, ...fields });
}

function table(n: number): RouteEntity[] {
  const routes: RouteEntity[] = [];
  for (let i = 0; i < n; i++) {
    switch (i % 5) {
      case 0:
        routes.push(route(i, { paths: [`/api/v${i % 7}/resource-${i}`, `/legacy/${i}`] }));
        break;
      case 1:
        routes.push(route(i, { hosts: [`tenant-${i}.test`], paths: [`/t/${i}`] }));
        break;
      case 2:
        routes.push(route(i, { hosts: [`*.wild-${i}.test`], methods: ['GET', 'POST'] }));
        break;
      case 3:
        routes.push(route(i, { paths: [`~/users/${i}/(?<item>\\d+)$`], regex_priority: i % 3 }));
        break;
      default:
        routes.push(route(i, { paths: [`/h/${i}`], headers: { 'x-tenant': [`t${i}`, '~*^beta-'] } }));
    }
  }
  return routes;
}

function requests(n: number): RouterInput[] {
  const base = { method: 'GET', port: 80, sni: null, scheme: 'http' as const };
  const out: RouterInput[] = [];
  for (let k = 0; k < 1000; k++) {
    const i = Math.floor((k * 7919) % n);
    const raw =
      i % 5 === 0
        ? `/api/v${i % 7}/resource-${i}/x?q=1`
        : i % 5 === 1
          ? `/t/${i}/y`
          : i % 5 === 2
            ? '/any/path'
            : i % 5 === 3
              ? `/users/${i}/42`
              : `/h/${i}/z`;
    out.push({
      ...base,
      host: i % 5 === 1 ? `tenant-${i}.test` : i % 5 === 2 ? `a.wild-${i}.test` : 'gateway.test',
      path: normalizePath(raw)!,
      headers: i % 5 === 4 ? { 'x-tenant': `t${i}` } : {},
    });
  }
  // and some misses (404s), the costliest case for a router
  for (let k = 0; k < 100; k++) out.push({ ...base, host: 'nowhere.test', path: `/missing/${k}`, headers: {} });
  return out;
}

function run(n: number): void {
  const services = Array.from({ length: 100 }, (_, i) => service(i));
  const routes = table(n);
  const t0 = performance.now();
  const router: Router = compileRouter(routes, services);
  const compileMs = performance.now() - t0;

  const reqs = requests(n);
  let hits = 0;
  for (const r of reqs) if (router.match(r) !== null) hits++; // warm-up
  const rounds = 200;
  const t1 = performance.now();
  for (let round = 0; round < rounds; round++) for (const r of reqs) router.match(r);
  const elapsed = (performance.now() - t1) / 1000;
  const perSecond = (rounds * reqs.length) / elapsed;
  console.log(
    `${String(n).padStart(6)} routes: compile ${compileMs.toFixed(1)} ms, ` +
      `${Math.round(perSecond).toLocaleString('en-US')} matches/s ` +
      `(${hits}/${reqs.length} requests matched)`,
  );
}

run(100);
run(10_000);
