/**
 * Route tables for scenario (e) and the router micro-benchmarks: N routes in
 * a fixed mix of Kong route kinds, and requests that each match one of them.
 *
 *   60 % prefix paths        /api/v1/p<i>/           (some also restricted to GET)
 *   20 % hosts               h<i>.bench.test         (host only; some with a wildcard)
 *   20 % regex paths         ~/api/v1/r<i>/\d+$      (Kong regex, with a named capture on every 4th)
 *
 * Routes are spread over services of 100 routes each, all pointing at the
 * same upstream, as a large real configuration would be.
 */
import type { RequestSpec } from './load.ts';

export type RouteKind = 'prefix' | 'host' | 'regex';

export function routeKind(i: number): RouteKind {
  const m = i % 10;
  return m < 6 ? 'prefix' : m < 8 ? 'host' : 'regex';
}

export interface DeclarativeRoute {
  name: string;
  paths?: string[];
  hosts?: string[];
  methods?: string[];
  strip_path?: boolean;
}

export function routeFor(i: number): DeclarativeRoute {
  switch (routeKind(i)) {
    case 'prefix':
      return { name: `r${i}`, paths: [`/api/v1/p${i}/`], ...(i % 3 === 0 ? { methods: ['GET', 'HEAD'] } : {}), strip_path: false };
    case 'host':
      return { name: `r${i}`, hosts: [i % 5 === 1 ? `*.w${i}.bench.test` : `h${i}.bench.test`] };
    case 'regex':
      return { name: `r${i}`, paths: [i % 4 === 0 ? `~/api/v1/r${i}/(?<id>\\d+)$` : `~/api/v1/r${i}/\\d+$`], strip_path: false };
  }
}

/** A request that only route i matches. */
export function requestFor(i: number): RequestSpec {
  const r = routeFor(i);
  switch (routeKind(i)) {
    case 'prefix':
      return { path: `${r.paths![0]}items?x=1` };
    case 'host': {
      const host = r.hosts![0]!.startsWith('*.') ? `a${r.hosts![0]!.slice(1)}` : r.hosts![0]!;
      return { path: '/', headers: { Host: host } };
    }
    case 'regex':
      return { path: `/api/v1/r${i}/12345` };
  }
}

/** Kong declarative document with `count` routes proxying to `upstreamUrl`. */
export function routesDocument(count: number, upstreamUrl: string, plugins: Array<Record<string, unknown>> = []): Record<string, unknown> {
  const services: Array<Record<string, unknown>> = [];
  const perService = 100;
  for (let s = 0; s * perService < count; s++) {
    const routes: DeclarativeRoute[] = [];
    for (let i = s * perService; i < Math.min(count, (s + 1) * perService); i++) routes.push(routeFor(i));
    services.push({ name: `svc${s}`, url: upstreamUrl, routes });
  }
  return { _format_version: '3.0', services, ...(plugins.length > 0 ? { plugins } : {}) };
}

/** Indices of `samples` routes spread evenly over a table of `count`, the first and the last included. */
export function sampleIndices(count: number, samples: number): number[] {
  const out: number[] = [];
  const n = Math.min(count, samples);
  for (let k = 0; k < n; k++) out.push(n === 1 ? 0 : Math.round((k * (count - 1)) / (n - 1)));
  return out;
}

/**
 * `samples` requests spread evenly over the table, the last route included,
 * so the load touches early and late prefix, host and regex routes alike.
 */
export function sampleRequests(count: number, samples: number): RequestSpec[] {
  return sampleIndices(count, samples).map(requestFor);
}
