/**
 * The compiled router's lookup structures (host buckets, radix tree, regex
 * literal prefixes, early exit) must never change *which* route wins. This
 * test compares it with the plainest possible reading of Kong's rules — try
 * every candidate in priority order, first full match wins — on thousands of
 * random routes and requests (fixed seed, so failures reproduce).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidatesOf, compareCandidates, type Candidate } from '../../../../src/core/router/candidates.ts';
import { compileRouter } from '../../../../src/core/router/compile.ts';
import { anyHostMatches, anyNameMatches } from '../../../../src/core/router/hosts.ts';
import { literalPrefixOf } from '../../../../src/core/router/regex-path.ts';
import type { RouterInput } from '../../../../src/core/router/types.ts';
import type { RouteEntity } from '../../../../src/schema/entities/types.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PREFIXES = ['/', '/a', '/a/', '/a/b', '/ab', '/abc', '/b', '/b/c', '/a/b/c', '/c'];
const REGEXES = ['~/a/\\d+', '~/(a|b)/x', '~/a?b', '~/a/b$', '~/[ab]+/c', '~/c/(?<id>\\w+)', '~/ab.*d', '~/b/c+'];
const HOSTS = ['a.test', 'b.test', '*.test', 'a.*', 'a.test:8000', '*.b.test'];
const REQ_PATHS = ['/', '/a', '/a/', '/a/1', '/a/b', '/a/b/c', '/ab', '/abcd', '/b', '/b/c', '/b/ccc', '/a/x', '/b/x', '/c/zz', '/bb/c', '/x'];
const REQ_HOSTS = ['', 'a.test', 'b.test', 'x.b.test', 'a.org', 'z.test'];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function subset<T>(r: () => number, list: readonly T[], max: number): T[] {
  const n = 1 + Math.floor(r() * max);
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const v = pick(r, list);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

function randomRoute(r: () => number, i: number): RouteEntity {
  const paths = r() < 0.8 ? subset(r, r() < 0.3 ? REGEXES : [...PREFIXES, ...REGEXES], 3) : null;
  const hosts = r() < 0.4 ? subset(r, HOSTS, 2) : null;
  const methods = r() < 0.25 ? subset(r, ['GET', 'POST'], 2) : null;
  const headers = r() < 0.2 ? { 'x-v': subset(r, ['1', '2', '~*^3'], 2) } : null;
  const snis = r() < 0.1 ? ['s.test'] : null;
  const hasAny = paths || hosts || methods || headers || snis;
  return {
    id: `r${i}`,
    created_at: Math.floor(r() * 5), // frequent ties exercise the last tie-break
    updated_at: 0,
    tags: null,
    name: `r${i}`,
    protocols: ['http', 'https'],
    methods,
    hosts,
    paths: hasAny ? paths : ['/'],
    headers,
    https_redirect_status_code: 426,
    regex_priority: Math.floor(r() * 3) - 1,
    strip_path: true,
    path_handling: 'v0',
    preserve_host: false,
    request_buffering: true,
    response_buffering: true,
    snis,
    sources: null,
    destinations: null,
    service: null,
  };
}

/** Kong's rule read literally: candidates in priority order, each path in order, first full match. */
function referenceMatch(cands: Candidate[], input: RouterInput): { name: string; path: string | null } | null {
  for (const c of cands) {
    if (c.methods && !c.methods.has(input.method)) continue;
    if (c.hosts && !anyHostMatches(c.hosts, input.host, input.port)) continue;
    if (c.snis && input.scheme === 'https' && (input.sni === null || !anyNameMatches(c.snis, input.sni))) continue;
    if (c.headers) {
      const ok = c.headers.every((h) => {
        const v = input.headers[h.name];
        if (typeof v !== 'string') return false;
        const lower = v.toLowerCase();
        return h.values.has(lower) || h.regexes.some((re) => re.test(lower));
      });
      if (!ok) continue;
    }
    if (c.paths === null) return { name: c.route.name!, path: null };
    for (const p of c.paths) {
      const hit = p.kind === 'prefix' ? input.path.startsWith(p.prefix) : p.regex.test(input.path);
      if (hit) return { name: c.route.name!, path: p.raw };
    }
  }
  return null;
}

test('the indexed router picks the same route as a linear scan in priority order (random tables)', () => {
  const r = rng(20240611);
  let compared = 0;
  let matched = 0;
  for (let round = 0; round < 60; round++) {
    const routes = Array.from({ length: 5 + Math.floor(r() * 60) }, (_, i) => randomRoute(r, i));
    const router = compileRouter(routes, []);
    const warnings: string[] = [];
    const cands = routes.flatMap((route, i) => candidatesOf(route, null, i, warnings)).sort(compareCandidates);
    for (let k = 0; k < 150; k++) {
      const https = r() < 0.2;
      const input: RouterInput = {
        method: pick(r, ['GET', 'POST', 'PUT']),
        host: pick(r, REQ_HOSTS),
        port: pick(r, [80, 8000]),
        path: pick(r, REQ_PATHS),
        headers: r() < 0.4 ? { 'x-v': pick(r, ['1', '2', '3x', '4']) } : {},
        sni: https ? pick(r, ['s.test', 'o.test']) : null,
        scheme: https ? 'https' : 'http',
      };
      const expected = referenceMatch(cands, input);
      const got = router.match(input);
      const summary = got === null ? null : { name: got.route.name!, path: got.matchedPath };
      assert.deepEqual(summary, expected, `round ${round}, request ${JSON.stringify(input)}`);
      compared++;
      if (expected !== null) matched++;
    }
  }
  assert.ok(matched > compared / 4, `enough requests matched to mean something (${matched}/${compared})`);
});

test('a regex literal prefix is text every match must start with', () => {
  const cases: Array<[string, string]> = [
    ['/users/\\d+', '/users/'],
    ['/a?b', '/'],
    ['/ab*', '/a'],
    ['/ab+c', '/ab'],
    ['/a{2}', '/'],
    ['/a\\.json$', '/a.json'],
    ['/(a|b)/x', ''],
    ['/foo|/bar', ''],
    ['^/anchored/x', '/anchored/x'],
    ['/v[0-9]', '/v'],
    ['/x.y', '/x'],
    ['/\\w+', '/'],
    ['/a\\/b', '/a/b'],
  ];
  for (const [source, prefix] of cases) assert.equal(literalPrefixOf(source), prefix, source);
});
