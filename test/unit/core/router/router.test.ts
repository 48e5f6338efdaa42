import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRouter } from '../../../../src/core/router/compile.ts';
import { normalizePath } from '../../../../src/core/router/normalize.ts';
import type { RouterInput } from '../../../../src/core/router/types.ts';
import type { RouteEntity, ServiceEntity } from '../../../../src/schema/entities/types.ts';
import { materialize, ROUTER_CASES, type RequestSpec } from '../../../contract/router-cases.ts';
import { routeEntity, serviceEntity } from '../../../helpers/entities.ts';

function inputOf(req: RequestSpec, path: string): RouterInput {
  const scheme = req.scheme ?? 'http';
  return {
    method: req.method ?? 'GET',
    host: req.host ?? '',
    port: req.port ?? (scheme === 'https' ? 443 : 80),
    path,
    headers: req.headers ?? {},
    ...(req.headersDistinct !== undefined ? { headersDistinct: req.headersDistinct } : {}),
    sni: req.sni ?? null,
    scheme,
  };
}

describe('router contract cases (Kong traditional_compatible)', () => {
  for (const c of ROUTER_CASES) {
    test(c.name, () => {
      const { routes, services } = materialize(c);
      const router = compileRouter(routes, services);
      const path = normalizePath(c.request.path);
      if (c.badRequest === true) {
        assert.equal(path, null, 'the proxy must answer 400 for this path');
        return;
      }
      assert.notEqual(path, null, `path ${c.request.path} must normalise`);
      const m = router.match(inputOf(c.request, path!));
      assert.equal(m?.route.name ?? null, c.expect);
      if (m === null) return;
      if (c.upstreamPath !== undefined) assert.equal(m.upstreamPath, c.upstreamPath, 'upstream path');
      if (c.uriCaptures !== undefined) assert.deepEqual(m.uriCaptures, c.uriCaptures, 'uri captures');
      if (c.strippedPrefix !== undefined) assert.equal(m.strippedPrefix, c.strippedPrefix, 'stripped prefix');
      if (c.matchedPath !== undefined) assert.equal(m.matchedPath, c.matchedPath, 'matched path');
    });
  }
});

describe('normalizePath (Kong uri.normalize + nginx request checks)', () => {
  const cases: Array<[string, string | null]> = [
    ['/', '/'],
    ['/foo/bar', '/foo/bar'],
    ['/foo?x=1', '/foo'],
    ['/?x=1', '/'],
    ['/fo%6F', '/foo'],
    ['/%41%7a%30%2D%2e%5F%7E', '/Az0-._~'],
    ['/foo%3a', '/foo%3A'],
    ['/a%2fb', '/a%2Fb'],
    ['/a%20b', '/a%20b'],
    ['/a b', '/a%20b'],
    ['/a|b"c', '/a%7Cb%22c'],
    ['/caf\u00e9', '/caf%C3%A9'],
    ['/foo/./bar/../baz', '/foo/baz'],
    ['/foo//bar', '/foo/bar'],
    ['//foo', '/foo'],
    ['//', '/'],
    ['/foo/', '/foo/'],
    ['/foo//', '/foo/'],
    ['/foo/.', '/foo/'],
    ['/foo/..', '/'],
    ['/a/b/..', '/a/'],
    ['/a/%2e%2E/b', '/b'],
    ['/a/%2e/b', '/a/b'],
    ['/.well-known/x', '/.well-known/x'],
    ['/a..b/c', '/a..b/c'],
    ['/..', null],
    ['/../x', null],
    ['/a/../../x', null],
    ['/%2e%2e/x', null],
    ['/foo%zz', null],
    ['/foo%2', null],
    ['/foo%', null],
    ['/foo%00bar', null],
    ['foo', null],
    ['*', null],
    ['', null],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} normalises to ${JSON.stringify(expected)}`, () => {
      assert.equal(normalizePath(input), expected);
    });
  }

  test('normalisation is idempotent: a normalised path is its own normal form', () => {
    for (const [input, expected] of cases) {
      if (expected === null) continue;
      assert.equal(normalizePath(expected), expected, `from ${input}`);
    }
  });
});

describe('router at scale', () => {
  function service(i: number, path: string | null): ServiceEntity {
    return serviceEntity({ id: `svc-${i}`, created_at: 1, name: `svc-${i}`, host: `u${i}.test`, path });
  }

  function route(i: number, fields: Partial<RouteEntity>): RouteEntity {
    return routeEntity({ id: `r-${i}`, created_at: 1000 + i, name: `r-${i}`, service: { id: `svc-${i % 100}` }, ...fields });
  }

  /** 10,000 routes: a third prefix-only, a third host + prefix (some wildcard), a third regex. */
  function mixedRoutes(): { routes: RouteEntity[]; services: ServiceEntity[] } {
    const services = Array.from({ length: 100 }, (_, i) => service(i, i % 2 === 0 ? '/base' : null));
    const routes: RouteEntity[] = [];
    for (let i = 0; i < 10_000; i++) {
      switch (i % 3) {
        case 0:
          routes.push(route(i, { paths: [`/api/v${i % 7}/resource-${i}`] }));
          break;
        case 1:
          routes.push(
            route(i, {
              hosts: i % 10 === 1 ? [`*.tenant-${i}.test`] : [`tenant-${i}.test`],
              paths: [`/t/${i}`],
            }),
          );
          break;
        default:
          routes.push(route(i, { paths: [`~/users/${i}/(?<item>\\d+)$`], methods: i % 4 === 0 ? ['POST'] : null }));
      }
    }
    return { routes, services };
  }

  test('10,000 mixed routes compile and each kind still finds its own route', () => {
    const { routes, services } = mixedRoutes();
    const router = compileRouter(routes, services);
    assert.equal(router.size, 10_000);

    const base = { method: 'GET', port: 80, headers: {}, sni: null, scheme: 'http' as const };

    const prefix = router.match({ ...base, host: 'any.test', path: '/api/v0/resource-9996/x' });
    assert.equal(prefix?.route.name, 'r-9996');
    assert.equal(prefix?.upstreamPath, '/base/x');

    const hosted = router.match({ ...base, host: 'tenant-4000.test', path: '/t/4000/y' });
    assert.equal(hosted?.route.name, 'r-4000');
    assert.equal(hosted?.upstreamPath, '/base/y');

    const wildcard = router.match({ ...base, host: 'a.tenant-4021.test', path: '/t/4021' });
    assert.equal(wildcard?.route.name, 'r-4021');

    const regex = router.match({ ...base, host: 'x.test', path: '/users/9998/123' });
    assert.equal(regex?.route.name, 'r-9998');
    assert.deepEqual(regex?.uriCaptures, { '0': '/users/9998/123', '1': '123', item: '123' });

    const postOnly = router.match({ ...base, host: 'x.test', path: '/users/8/1' });
    assert.equal(postOnly, null, 'r-8 only takes POST');
    assert.equal(router.match({ ...base, method: 'POST', host: 'x.test', path: '/users/8/1' })?.route.name, 'r-8');

    assert.equal(router.match({ ...base, host: 'tenant-4000.test', path: '/nothing' }), null);
  });
});
