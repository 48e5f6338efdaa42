/**
 * Router contract cases: Kong 3.x `traditional_compatible` routing as the
 * Proxy Reference and the Admin API reference describe it. Every router build
 * runs this same table (test/unit/core/router/router.test.ts).
 *
 * A case lists routes (by name; `service` names a service of the case),
 * services, and one request as a client sends it — `path` is the raw request
 * target, normalised by normalizePath() first, exactly as the proxy does.
 * `expect` is the name of the route that must win, or null for "no route"
 * (Kong answers 404). `badRequest` marks paths the proxy must answer 400.
 */
import type { Protocol, RouteEntity, ServiceEntity } from '../../src/schema/entities/types.ts';
import { routeEntity, serviceEntity } from '../helpers/entities.ts';

export interface RouteSpec {
  name: string;
  service?: string | null;
  protocols?: Protocol[];
  methods?: string[] | null;
  hosts?: string[] | null;
  paths?: string[] | null;
  headers?: Record<string, string[]> | null;
  snis?: string[] | null;
  regex_priority?: number;
  strip_path?: boolean;
  path_handling?: 'v0' | 'v1';
  created_at?: number;
}

export interface ServiceSpec {
  name: string;
  path?: string | null;
  enabled?: boolean;
  protocol?: Protocol;
}

export interface RequestSpec {
  method?: string;
  host?: string;
  port?: number;
  /** Raw request target path (may hold a query). */
  path: string;
  headers?: Record<string, string | string[]>;
  /** Repeated header lines, as Node's req.headersDistinct gives them. */
  headersDistinct?: Record<string, string[]>;
  scheme?: 'http' | 'https';
  sni?: string | null;
}

export interface RouterCase {
  name: string;
  routes: RouteSpec[];
  services?: ServiceSpec[];
  request: RequestSpec;
  expect: string | null;
  badRequest?: boolean;
  upstreamPath?: string;
  uriCaptures?: Record<string, string> | null;
  strippedPrefix?: string | null;
  matchedPath?: string | null;
}

const BASE_TIME = 1_700_000_000;

/** Entities for a case: defaults as Kong's schema fills them; created_at follows list order. */
export function materialize(c: Pick<RouterCase, 'routes' | 'services'>): {
  routes: RouteEntity[];
  services: ServiceEntity[];
} {
  const services: ServiceEntity[] = (c.services ?? []).map((s, i) =>
    serviceEntity({
      id: `svc-${s.name}`,
      created_at: BASE_TIME + i,
      name: s.name,
      host: `${s.name}.upstream.test`,
      ...given(s, ['protocol', 'path', 'enabled']),
    }),
  );
  const routes: RouteEntity[] = c.routes.map((r, i) =>
    routeEntity({
      id: `route-${r.name}`,
      created_at: r.created_at ?? BASE_TIME + i,
      name: r.name,
      service: r.service === null ? null : { id: `svc-${r.service ?? 'default'}` },
      ...given(r, ['protocols', 'methods', 'hosts', 'paths', 'headers', 'regex_priority', 'strip_path', 'path_handling', 'snis']),
    }),
  );
  // Routes name `default` implicitly: give it a root service unless the case defines one.
  if (routes.some((r) => r.service?.id === 'svc-default') && !services.some((s) => s.id === 'svc-default')) {
    services.push(defaultService());
  }
  return { routes, services };
}

function defaultService(): ServiceEntity {
  return serviceEntity({ id: 'svc-default', created_at: BASE_TIME, name: 'default', host: 'default.upstream.test' });
}

/** The fields of a spec the case actually sets (an absent field keeps the entity default). */
function given<T extends object, K extends keyof T>(spec: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (spec[k] !== undefined) out[k] = spec[k];
  return out;
}

const GET = (path: string, extra: Omit<RequestSpec, 'path'> = {}): RequestSpec => ({ method: 'GET', path, ...extra });

/** One row of the Admin API reference's "Path handling algorithms" table. */
function pathHandlingRow(
  servicePath: string,
  routePath: string,
  strip: boolean,
  handling: 'v0' | 'v1',
  request: string,
  proxied: string,
): RouterCase {
  return {
    name: `path handling table: s.path ${servicePath}, r.path ${routePath}, strip_path ${strip}, ${handling}: ${request} is proxied to ${proxied}`,
    services: [{ name: 's', path: servicePath }],
    routes: [{ name: 'r', service: 's', paths: [routePath], strip_path: strip, path_handling: handling }],
    request: GET(request),
    expect: 'r',
    upstreamPath: proxied,
  };
}

/** strip_path/path_handling behaviour beyond the docs table (Kong's get_upstream_uri, branch by branch). */
function joinCase(
  name: string,
  servicePath: string | null,
  route: Omit<RouteSpec, 'name' | 'service'>,
  request: string,
  proxied: string,
): RouterCase {
  return {
    name,
    services: [{ name: 's', path: servicePath }],
    routes: [{ name: 'r', service: 's', ...route }],
    request: GET(request, { host: 'api.test' }),
    expect: 'r',
    upstreamPath: proxied,
  };
}

export const ROUTER_CASES: RouterCase[] = [
  // ───────────────────────── request path: prefix matching
  {
    name: 'a prefix path matches the path itself',
    routes: [{ name: 'svc', paths: ['/service'] }],
    request: GET('/service'),
    expect: 'svc',
  },
  {
    name: 'a prefix path matches longer paths and ignores the query string',
    routes: [{ name: 'svc', paths: ['/service'] }],
    request: GET('/service/resource?param=value'),
    expect: 'svc',
  },
  {
    name: 'a prefix is a plain string prefix, not a path segment (/foo matches /foobar)',
    routes: [{ name: 'foo', paths: ['/foo'] }],
    request: GET('/foobar'),
    expect: 'foo',
  },
  {
    name: 'a request whose path no route has gets no route',
    routes: [{ name: 'foo', paths: ['/foo'] }],
    request: GET('/bar'),
    expect: null,
  },
  {
    name: 'paths are case-sensitive',
    routes: [{ name: 'foo', paths: ['/foo'] }],
    request: GET('/FOO'),
    expect: null,
  },
  {
    name: 'the path / matches every request',
    routes: [{ name: 'root', paths: ['/'] }],
    request: GET('/anything/at/all'),
    expect: 'root',
  },
  {
    name: 'no routes at all: no route',
    routes: [],
    request: GET('/'),
    expect: null,
  },
  {
    name: 'longest prefix wins: /service/resource is not shadowed by /service',
    routes: [
      { name: 'short', paths: ['/service'] },
      { name: 'long', paths: ['/service/resource'] },
    ],
    request: GET('/service/resource/1'),
    expect: 'long',
  },
  {
    name: 'longest prefix wins whatever the creation order',
    routes: [
      { name: 'long', paths: ['/service/resource'] },
      { name: 'short', paths: ['/service'] },
    ],
    request: GET('/service/other'),
    expect: 'short',
  },
  {
    name: 'a route with several paths matches on any of them (docs example: /foo, /bar)',
    routes: [{ name: 'r', hosts: ['example.com', 'foo-service.com'], paths: ['/foo', '/bar'], methods: ['GET'] }],
    request: GET('/bar', { host: 'foo-service.com' }),
    expect: 'r',
  },
  {
    name: 'docs example: GET / does not satisfy paths [/foo, /bar]',
    routes: [{ name: 'r', hosts: ['example.com', 'foo-service.com'], paths: ['/foo', '/bar'], methods: ['GET'] }],
    request: GET('/', { host: 'example.com' }),
    expect: null,
  },
  {
    name: 'docs example: POST /foo does not satisfy methods [GET]',
    routes: [{ name: 'r', hosts: ['example.com', 'foo-service.com'], paths: ['/foo', '/bar'], methods: ['GET'] }],
    request: { method: 'POST', path: '/foo', host: 'example.com' },
    expect: null,
  },
  {
    name: 'docs example: Host foo.com does not satisfy hosts [example.com, foo-service.com]',
    routes: [{ name: 'r', hosts: ['example.com', 'foo-service.com'], paths: ['/foo', '/bar'], methods: ['GET'] }],
    request: GET('/foo', { host: 'foo.com' }),
    expect: null,
  },
  {
    name: 'each path of a route is ordered on its own: /abcdef of X beats /abc of Y',
    routes: [
      { name: 'x', paths: ['/a', '/abcdef'] },
      { name: 'y', paths: ['/abc'] },
    ],
    request: GET('/abcdefg'),
    expect: 'x',
  },
  {
    name: 'each path of a route is ordered on its own: /abc of Y beats the short /a of X',
    routes: [
      { name: 'x', paths: ['/a', '/abcdef'] },
      { name: 'y', paths: ['/abc'] },
    ],
    request: GET('/abcx'),
    expect: 'y',
  },
  {
    name: 'the regex paths of a mixed route are regex candidates, its prefix path is ordered by length',
    routes: [
      { name: 'mixed', paths: ['/m', '~/m/\\d+'] },
      { name: 'prefix', paths: ['/m/12'] },
    ],
    request: GET('/m/123'),
    expect: 'mixed',
    matchedPath: '~/m/\\d+',
  },
  {
    name: 'the prefix path of a mixed route loses to a longer prefix of another route',
    routes: [
      { name: 'mixed', paths: ['/m', '~/m/\\d+'] },
      { name: 'prefix', paths: ['/m/ab'] },
    ],
    request: GET('/m/abc'),
    expect: 'prefix',
  },

  // ───────────────────────── request path: regex
  {
    name: 'a regex path is anchored at the start of the path',
    routes: [{ name: 're', paths: ['~/users/\\d+'] }],
    request: GET('/api/users/42'),
    expect: null,
  },
  {
    name: 'a regex path is not anchored at the end',
    routes: [{ name: 're', paths: ['~/users/\\d+'] }],
    request: GET('/users/42/profile'),
    expect: 're',
    uriCaptures: null,
    matchedPath: '~/users/\\d+',
  },
  {
    name: 'a regex with $ only matches the whole path',
    routes: [{ name: 're', paths: ['~/foo/bar$'] }],
    request: GET('/foo/bar/baz'),
    expect: null,
  },
  {
    name: 'a path without ~ is plain text even if it looks like a regex',
    routes: [{ name: 'plain', paths: ['/users/\\d+/profile'] }],
    request: GET('/users/42/profile'),
    expect: null,
  },
  {
    name: 'a top-level alternation is anchored in every branch',
    routes: [{ name: 'alt', paths: ['~/foo|/bar'] }],
    request: GET('/x/bar'),
    expect: null,
  },
  {
    name: 'a top-level alternation matches any branch at the start',
    routes: [{ name: 'alt', paths: ['~/foo|/bar'] }],
    request: GET('/bar/x'),
    expect: 'alt',
  },
  {
    name: 'docs capturing groups: numbered and named captures are exposed as uri_captures',
    routes: [{ name: 'cap', paths: ['~/version/(?<version>\\d+)/users/(?<user>\\S+)'], strip_path: false }],
    request: GET('/version/1/users/john'),
    expect: 'cap',
    uriCaptures: { '0': '/version/1/users/john', '1': '1', '2': 'john', version: '1', user: 'john' },
    upstreamPath: '/version/1/users/john',
  },
  {
    name: "PCRE's (?P<name>…) named groups work",
    routes: [{ name: 'cap', paths: ['~/items/(?P<id>[0-9]+)'] }],
    request: GET('/items/77'),
    expect: 'cap',
    uriCaptures: { '0': '/items/77', '1': '77', id: '77' },
  },
  {
    name: 'an optional group that did not take part is absent from uri_captures',
    routes: [{ name: 'cap', paths: ['~/a(/(?<x>x))?/b'] }],
    request: GET('/a/b'),
    expect: 'cap',
    uriCaptures: { '0': '/a/b' },
  },
  {
    name: 'strip_path with a regex strips the whole matching sequence (docs example)',
    routes: [{ name: 're', paths: ['~/version/\\d+/service'], strip_path: true }],
    request: GET('/version/1/service/path/to/resource'),
    expect: 're',
    upstreamPath: '/path/to/resource',
    strippedPrefix: '/version/1/service',
  },
  {
    name: 'a regex route is tried before a prefix route of the same weight',
    routes: [
      { name: 'prefix', paths: ['/version/1'] },
      { name: 'regex', paths: ['~/version/\\d+'] },
    ],
    request: GET('/version/1'),
    expect: 'regex',
  },
  {
    name: 'a prefix route still matches what the regex route does not',
    routes: [
      { name: 'prefix', paths: ['/version'] },
      { name: 'regex', paths: ['~/version/\\d+'] },
    ],
    request: GET('/version/latest'),
    expect: 'prefix',
  },
  ...(() => {
    // Proxy Reference "Evaluation order": evaluated as /version/\d+/status/\d+ (6),
    // /status/\d+ (0), /version/any/ (0, newer), then the prefix /version.
    const routes: RouteSpec[] = [
      { name: 'status', paths: ['~/status/\\d+'], regex_priority: 0 },
      { name: 'version-status', paths: ['~/version/\\d+/status/\\d+'], regex_priority: 6 },
      { name: 'version', paths: ['/version'] },
      { name: 'version-any', paths: ['~/version/any/'] },
    ];
    return [
      { name: 'regex_priority: higher regex_priority is evaluated first', routes, request: GET('/version/1/status/2'), expect: 'version-status' },
      { name: 'regex_priority: regex paths before the prefix /version', routes, request: GET('/version/any/x'), expect: 'version-any' },
      { name: 'regex_priority: the prefix route takes what no regex matches', routes, request: GET('/version/2'), expect: 'version' },
      { name: 'regex_priority: /status/\\d+ matches its own paths', routes, request: GET('/status/5'), expect: 'status' },
    ] satisfies RouterCase[];
  })(),
  {
    name: 'regex_priority beats creation order',
    routes: [
      { name: 'older', paths: ['~/p/\\d+'], regex_priority: 1 },
      { name: 'newer', paths: ['~/p/[0-9]+'], regex_priority: 5 },
    ],
    request: GET('/p/1'),
    expect: 'newer',
  },
  {
    name: 'negative regex_priority is evaluated after 0',
    routes: [
      { name: 'low', paths: ['~/p/\\d+'], regex_priority: -1 },
      { name: 'zero', paths: ['~/p/[0-9]+'] },
    ],
    request: GET('/p/1'),
    expect: 'zero',
  },
  {
    name: 'two regex routes with the same regex_priority: the older one (lowest created_at) wins',
    routes: [
      { name: 'newer', paths: ['~/p/[0-9]+'], created_at: 2000 },
      { name: 'older', paths: ['~/p/\\d+'], created_at: 1000 },
    ],
    request: GET('/p/1'),
    expect: 'older',
  },
  {
    name: 'regex_priority does not reorder prefix routes (longest prefix still wins)',
    routes: [
      { name: 'short', paths: ['/a'], regex_priority: 100 },
      { name: 'long', paths: ['/a/b'] },
    ],
    request: GET('/a/b/c'),
    expect: 'long',
  },
  {
    name: 'a prefix route with a host beats a regex route without one (weight first)',
    routes: [
      { name: 'regex', paths: ['~/r/\\d+'] },
      { name: 'host-prefix', hosts: ['api.test'], paths: ['/r'] },
    ],
    request: GET('/r/1', { host: 'api.test' }),
    expect: 'host-prefix',
  },
  {
    name: 'a percent-encoded regex path matches the normalised request (%2E is a literal dot)',
    routes: [{ name: 're', paths: ['~/file%2Ejson$'] }],
    request: GET('/file.json'),
    expect: 're',
  },
  {
    name: 'a percent-encoded regex path does not treat a decoded dot as "any character"',
    routes: [{ name: 're', paths: ['~/file%2Ejson$'] }],
    request: GET('/fileXjson'),
    expect: null,
  },

  // ───────────────────────── normalisation
  {
    name: 'percent-encoded unreserved characters are decoded before matching (/fo%6F is /foo)',
    routes: [{ name: 'foo', paths: ['/foo'] }],
    request: GET('/fo%6F/x'),
    expect: 'foo',
    upstreamPath: '/x',
  },
  {
    name: 'lower-case escapes of reserved characters match the upper-case spelling',
    routes: [{ name: 'colon', paths: ['/foo%3A'] }],
    request: GET('/foo%3abar'),
    expect: 'colon',
    upstreamPath: '/bar',
  },
  {
    name: 'an encoded slash is not a slash: /a%2Fb does not match /a/b',
    routes: [{ name: 'ab', paths: ['/a/b'] }],
    request: GET('/a%2Fb'),
    expect: null,
  },
  {
    name: 'duplicate slashes are merged before matching',
    routes: [{ name: 'foo', paths: ['/foo/bar'], strip_path: false }],
    request: GET('//foo//bar'),
    expect: 'foo',
    upstreamPath: '/foo/bar',
  },
  {
    name: 'dot segments are resolved before matching: /public/../admin reaches /admin',
    routes: [
      { name: 'public', paths: ['/public'] },
      { name: 'admin', paths: ['/admin'], strip_path: false },
    ],
    request: GET('/public/../admin/panel'),
    expect: 'admin',
    upstreamPath: '/admin/panel',
  },
  {
    name: 'percent-encoded dot segments (/%2e%2e/) are resolved too',
    routes: [
      { name: 'public', paths: ['/public'] },
      { name: 'admin', paths: ['/admin'] },
    ],
    request: GET('/public/%2e%2E/admin'),
    expect: 'admin',
  },
  {
    name: 'single-dot segments are removed: /foo/./bar/../baz is /foo/baz',
    routes: [{ name: 'foobaz', paths: ['/foo/baz'] }],
    request: GET('/foo/./bar/../baz'),
    expect: 'foobaz',
  },
  {
    name: 'a path climbing above the root is a bad request',
    routes: [{ name: 'root', paths: ['/'] }],
    request: GET('/../etc/passwd'),
    expect: null,
    badRequest: true,
  },
  {
    name: 'a malformed percent-encoding is a bad request',
    routes: [{ name: 'root', paths: ['/'] }],
    request: GET('/foo%zz'),
    expect: null,
    badRequest: true,
  },
  {
    name: 'an encoded NUL is a bad request',
    routes: [{ name: 'root', paths: ['/'] }],
    request: GET('/foo%00'),
    expect: null,
    badRequest: true,
  },
  {
    name: 'reserved characters stay encoded on their way upstream',
    routes: [{ name: 'api', paths: ['/api'] }],
    request: GET('/api/a%2fb%3Fc'),
    expect: 'api',
    upstreamPath: '/a%2Fb%3Fc',
  },

  // ───────────────────────── hosts
  {
    name: 'a route matches its host',
    routes: [{ name: 'h', hosts: ['example.com'] }],
    request: GET('/', { host: 'example.com' }),
    expect: 'h',
  },
  {
    name: 'a route does not match another host',
    routes: [{ name: 'h', hosts: ['example.com'] }],
    request: GET('/', { host: 'example.org' }),
    expect: null,
  },
  {
    name: 'a route with hosts does not match a request without a Host',
    routes: [{ name: 'h', hosts: ['example.com'] }],
    request: GET('/', { host: '' }),
    expect: null,
  },
  {
    name: 'route hosts are case-insensitive',
    routes: [{ name: 'h', hosts: ['Example.COM'] }],
    request: GET('/', { host: 'example.com' }),
    expect: 'h',
  },
  {
    name: 'any of several hosts matches (docs: example.com, foo-service.com)',
    routes: [{ name: 'h', hosts: ['example.com', 'foo-service.com'] }],
    request: GET('/', { host: 'foo-service.com' }),
    expect: 'h',
  },
  {
    name: 'a leading wildcard host matches one label (a.example.com)',
    routes: [{ name: 'w', hosts: ['*.example.com', 'service.com'] }],
    request: GET('/', { host: 'an.example.com' }),
    expect: 'w',
  },
  {
    name: 'a leading wildcard host matches several labels (x.y.example.com)',
    routes: [{ name: 'w', hosts: ['*.example.com'] }],
    request: GET('/', { host: 'x.y.example.com' }),
    expect: 'w',
  },
  {
    name: 'a leading wildcard host does not match the bare domain',
    routes: [{ name: 'w', hosts: ['*.example.com'] }],
    request: GET('/', { host: 'example.com' }),
    expect: null,
  },
  {
    name: 'a leading wildcard host does not match a host that merely ends the same way',
    routes: [{ name: 'w', hosts: ['*.example.com'] }],
    request: GET('/', { host: 'notexample.com' }),
    expect: null,
  },
  {
    name: 'a trailing wildcard host matches example.com and example.org',
    routes: [{ name: 'w', hosts: ['example.*'] }],
    request: GET('/', { host: 'example.org' }),
    expect: 'w',
  },
  {
    name: 'a trailing wildcard host matches several trailing labels',
    routes: [{ name: 'w', hosts: ['example.*'] }],
    request: GET('/', { host: 'example.co.uk' }),
    expect: 'w',
  },
  {
    name: 'a trailing wildcard host does not match another name',
    routes: [{ name: 'w', hosts: ['example.*'] }],
    request: GET('/', { host: 'myexample.com' }),
    expect: null,
  },
  {
    name: 'plain hosts before wildcard hosts, whatever the creation order',
    routes: [
      { name: 'wildcard', hosts: ['*.example.com'] },
      { name: 'plain', hosts: ['api.example.com'] },
    ],
    request: GET('/', { host: 'api.example.com' }),
    expect: 'plain',
  },
  {
    name: 'a route mixing a plain and a wildcard host counts as wildcard',
    routes: [
      { name: 'mixed', hosts: ['api.example.com', '*.example.org'] },
      { name: 'plain', hosts: ['api.example.com'] },
    ],
    request: GET('/', { host: 'api.example.com' }),
    expect: 'plain',
  },
  {
    name: 'the wildcard route still gets the hosts the plain route does not have',
    routes: [
      { name: 'wildcard', hosts: ['*.example.com'] },
      { name: 'plain', hosts: ['api.example.com'] },
    ],
    request: GET('/', { host: 'www.example.com' }),
    expect: 'wildcard',
  },
  {
    name: 'plain host beats wildcard host even when the wildcard route has the longer path',
    routes: [
      { name: 'wildcard', hosts: ['*.example.com'], paths: ['/a/long/path'] },
      { name: 'plain', hosts: ['api.example.com'], paths: ['/a'] },
    ],
    request: GET('/a/long/path', { host: 'api.example.com' }),
    expect: 'plain',
  },
  {
    name: 'a host with a port matches requests addressed to that port',
    routes: [{ name: 'hp', hosts: ['example.com:8000'] }],
    request: GET('/', { host: 'example.com', port: 8000 }),
    expect: 'hp',
  },
  {
    name: 'a host with a port does not match another port',
    routes: [{ name: 'hp', hosts: ['example.com:8000'] }],
    request: GET('/', { host: 'example.com', port: 8001 }),
    expect: null,
  },
  {
    name: 'a host without a port matches any port',
    routes: [{ name: 'h', hosts: ['example.com'] }],
    request: GET('/', { host: 'example.com', port: 8443 }),
    expect: 'h',
  },
  {
    name: 'a wildcard host with a port requires that port',
    routes: [{ name: 'wp', hosts: ['*.example.com:9000'] }],
    request: GET('/', { host: 'a.example.com', port: 9000 }),
    expect: 'wp',
  },
  {
    name: 'a wildcard host with a port does not match another port',
    routes: [{ name: 'wp', hosts: ['*.example.com:9000'] }],
    request: GET('/', { host: 'a.example.com', port: 8000 }),
    expect: null,
  },
  {
    name: 'routes with hosts and routes without hosts coexist: the hostless one gets other hosts',
    routes: [
      { name: 'hosted', hosts: ['a.test'], paths: ['/x'] },
      { name: 'anyhost', paths: ['/x'] },
    ],
    request: GET('/x', { host: 'b.test' }),
    expect: 'anyhost',
  },

  // ───────────────────────── methods
  {
    name: 'docs: a route with hosts and methods is evaluated before one with hosts only (GET)',
    routes: [
      { name: 'first', hosts: ['example.com'] },
      { name: 'second', hosts: ['example.com'], methods: ['POST'] },
    ],
    request: GET('/', { host: 'example.com' }),
    expect: 'first',
  },
  {
    name: 'docs: a route with hosts and methods is evaluated before one with hosts only (POST)',
    routes: [
      { name: 'first', hosts: ['example.com'] },
      { name: 'second', hosts: ['example.com'], methods: ['POST'] },
    ],
    request: { method: 'POST', path: '/', host: 'example.com' },
    expect: 'second',
  },
  {
    name: 'methods: GET and HEAD route matches HEAD /resource',
    routes: [{ name: 'gh', methods: ['GET', 'HEAD'] }],
    request: { method: 'HEAD', path: '/resource' },
    expect: 'gh',
  },
  {
    name: 'methods: GET and HEAD route does not match DELETE',
    routes: [{ name: 'gh', methods: ['GET', 'HEAD'] }],
    request: { method: 'DELETE', path: '/' },
    expect: null,
  },

  // ───────────────────────── headers
  {
    name: 'headers: a value of the list matches (version: v1)',
    routes: [{ name: 'hv', headers: { version: ['v1', 'v2'] } }],
    request: GET('/', { headers: { version: 'v1' } }),
    expect: 'hv',
  },
  {
    name: 'headers: another value of the list matches (version: v2)',
    routes: [{ name: 'hv', headers: { version: ['v1', 'v2'] } }],
    request: GET('/', { headers: { version: 'v2' } }),
    expect: 'hv',
  },
  {
    name: 'headers: a value not in the list does not match (version: v3)',
    routes: [{ name: 'hv', headers: { version: ['v1', 'v2'] } }],
    request: GET('/', { headers: { version: 'v3' } }),
    expect: null,
  },
  {
    name: 'headers: a missing header does not match',
    routes: [{ name: 'hv', headers: { version: ['v1'] } }],
    request: GET('/'),
    expect: null,
  },
  {
    name: 'headers: values compare case-insensitively (Region: North for region=north)',
    routes: [{ name: 'region', headers: { Region: ['north'] } }],
    request: GET('/', { headers: { region: 'North' } }),
    expect: 'region',
  },
  {
    name: 'headers: every configured header name must match (logical AND)',
    routes: [{ name: 'two', headers: { a: ['1'], b: ['2'] } }],
    request: GET('/', { headers: { a: '1', b: '3' } }),
    expect: null,
  },
  {
    name: 'headers: a ~* value is a case-insensitive regex',
    routes: [{ name: 're', headers: { 'user-agent': ['~*mozilla'] } }],
    request: GET('/', { headers: { 'user-agent': 'Mozilla/5.0 (X11)' } }),
    expect: 're',
  },
  {
    name: 'headers: a ~* regex that does not match',
    routes: [{ name: 're', headers: { 'x-version': ['~*^v[0-9]+$'] } }],
    request: GET('/', { headers: { 'x-version': 'beta' } }),
    expect: null,
  },
  {
    name: 'headers: plain and ~* values can be mixed in one list',
    routes: [{ name: 're', headers: { 'x-version': ['stable', '~*^v[0-9]+$'] } }],
    request: GET('/', { headers: { 'x-version': 'V12' } }),
    expect: 're',
  },
  {
    name: 'headers: any of several header lines with the same name can match',
    routes: [{ name: 'multi', headers: { 'x-tag': ['b'] } }],
    request: GET('/', { headers: { 'x-tag': 'a, b' }, headersDistinct: { 'x-tag': ['a', 'b'] } }),
    expect: 'multi',
  },
  {
    name: 'headers: a route with a header condition beats the same route without it',
    routes: [
      { name: 'plain', paths: ['/h'] },
      { name: 'with-header', paths: ['/h'], headers: { 'x-canary': ['1'] } },
    ],
    request: GET('/h', { headers: { 'x-canary': '1' } }),
    expect: 'with-header',
  },
  {
    name: 'headers: more header names before fewer at equal weight',
    routes: [
      { name: 'one', paths: ['/h'], headers: { a: ['1'] } },
      { name: 'two', paths: ['/h'], headers: { a: ['1'], b: ['2'] } },
    ],
    request: GET('/h', { headers: { a: '1', b: '2' } }),
    expect: 'two',
  },
  {
    name: 'headers: plain hosts only still comes before a higher header count',
    routes: [
      { name: 'wild-two-headers', hosts: ['*.test'], headers: { a: ['1'], b: ['2'] } },
      { name: 'plain-one-header', hosts: ['api.test'], headers: { a: ['1'] } },
    ],
    request: GET('/', { host: 'api.test', headers: { a: '1', b: '2' } }),
    expect: 'plain-one-header',
  },
  {
    name: 'headers: a higher header count comes before a regex path',
    routes: [
      { name: 'regex', paths: ['~/h/\\d'], headers: { a: ['1'] } },
      { name: 'two-headers', paths: ['/h'], headers: { a: ['1'], b: ['2'] } },
    ],
    request: GET('/h/1', { headers: { a: '1', b: '2' } }),
    expect: 'two-headers',
  },

  // ───────────────────────── matching priorities (weight, tie-breaks)
  {
    name: 'priority: a route with more attribute kinds is tried first',
    routes: [
      { name: 'paths', paths: ['/p'] },
      { name: 'paths-methods', paths: ['/p'], methods: ['GET'] },
      { name: 'paths-methods-hosts', paths: ['/p'], methods: ['GET'], hosts: ['h.test'] },
    ],
    request: GET('/p', { host: 'h.test' }),
    expect: 'paths-methods-hosts',
  },
  {
    name: 'priority: weight beats path length',
    routes: [
      { name: 'long', paths: ['/a/very/long/prefix'] },
      { name: 'short-with-method', paths: ['/a'], methods: ['GET'] },
    ],
    request: GET('/a/very/long/prefix'),
    expect: 'short-with-method',
  },
  {
    name: 'priority: weight beats regex',
    routes: [
      { name: 'regex', paths: ['~/a/\\w+'] },
      { name: 'prefix-host', paths: ['/a'], hosts: ['h.test'] },
    ],
    request: GET('/a/b', { host: 'h.test' }),
    expect: 'prefix-host',
  },
  {
    name: 'priority: identical routes — the older (lowest created_at) wins',
    routes: [
      { name: 'newer', paths: ['/same'], created_at: 200 },
      { name: 'older', paths: ['/same'], created_at: 100 },
    ],
    request: GET('/same'),
    expect: 'older',
  },
  {
    name: 'priority: a more specific route that does not match falls through to the next',
    routes: [
      { name: 'general', paths: ['/p'] },
      { name: 'specific', paths: ['/p'], methods: ['POST'], hosts: ['h.test'] },
    ],
    request: GET('/p', { host: 'h.test' }),
    expect: 'general',
  },

  // ───────────────────────── snis
  {
    name: 'snis: an https request with a listed SNI matches',
    routes: [{ name: 'sni', snis: ['foo.test', 'example.com'] }],
    request: GET('/', { scheme: 'https', sni: 'example.com', host: 'example.com' }),
    expect: 'sni',
  },
  {
    name: 'snis: an https request with another SNI does not match',
    routes: [{ name: 'sni', snis: ['foo.test'] }],
    request: GET('/', { scheme: 'https', sni: 'bar.test', host: 'bar.test' }),
    expect: null,
  },
  {
    name: 'snis: an https request without SNI does not match',
    routes: [{ name: 'sni', snis: ['foo.test'] }],
    request: GET('/', { scheme: 'https', sni: null }),
    expect: null,
  },
  {
    name: 'snis: a plain http request is not constrained by snis (Kong #6425)',
    routes: [{ name: 'sni', snis: ['foo.test'], paths: ['/s'] }],
    request: GET('/s', { scheme: 'http' }),
    expect: 'sni',
  },
  {
    name: 'snis: the SNI is matched, not the Host header',
    routes: [{ name: 'sni', snis: ['foo.test'] }],
    request: GET('/', { scheme: 'https', sni: 'foo.test', host: 'other.test' }),
    expect: 'sni',
  },
  {
    name: 'snis: a trailing dot in a route SNI is ignored',
    routes: [{ name: 'sni', snis: ['foo.test.'] }],
    request: GET('/', { scheme: 'https', sni: 'foo.test' }),
    expect: 'sni',
  },
  {
    name: 'snis: a route with snis ranks above the same route without',
    routes: [
      { name: 'plain', paths: ['/s'] },
      { name: 'with-sni', paths: ['/s'], snis: ['foo.test'] },
    ],
    request: GET('/s', { scheme: 'https', sni: 'foo.test' }),
    expect: 'with-sni',
  },
  {
    name: 'snis: the route without snis takes other SNIs',
    routes: [
      { name: 'plain', paths: ['/s'] },
      { name: 'with-sni', paths: ['/s'], snis: ['foo.test'] },
    ],
    request: GET('/s', { scheme: 'https', sni: 'bar.test' }),
    expect: 'plain',
  },

  // ───────────────────────── protocols, services
  {
    name: 'protocols are not part of matching: an https-only route matches an http request (the proxy answers 426)',
    routes: [{ name: 'secure', paths: ['/s'], protocols: ['https'] }],
    request: GET('/s', { scheme: 'http' }),
    expect: 'secure',
  },
  {
    name: 'stream routes (tcp/tls) never match HTTP requests',
    routes: [{ name: 'tcp', protocols: ['tcp'], snis: ['foo.test'] }],
    request: GET('/', { scheme: 'https', sni: 'foo.test' }),
    expect: null,
  },
  {
    name: 'routes of a disabled service do not exist',
    services: [{ name: 'off', enabled: false }],
    routes: [{ name: 'r', service: 'off', paths: ['/r'] }],
    request: GET('/r'),
    expect: null,
  },
  {
    name: 'a route of a disabled service does not shadow a less specific route',
    services: [{ name: 'off', enabled: false }, { name: 'on' }],
    routes: [
      { name: 'disabled', service: 'off', paths: ['/r/x'] },
      { name: 'enabled', service: 'on', paths: ['/r'] },
    ],
    request: GET('/r/x'),
    expect: 'enabled',
  },
  {
    name: 'a route without a service still matches',
    routes: [{ name: 'orphan', service: null, paths: ['/o'] }],
    request: GET('/o/p'),
    expect: 'orphan',
    upstreamPath: '/p',
  },

  // ───────────────────────── strip_path / path_handling: the docs table, every row
  pathHandlingRow('/s', '/fv0', false, 'v0', '/fv0req', '/s/fv0req'),
  pathHandlingRow('/s', '/fv1', false, 'v1', '/fv1req', '/sfv1req'),
  pathHandlingRow('/s', '/tv0', true, 'v0', '/tv0req', '/s/req'),
  pathHandlingRow('/s', '/tv1', true, 'v1', '/tv1req', '/sreq'),
  pathHandlingRow('/s', '/fv0/', false, 'v0', '/fv0/req', '/s/fv0/req'),
  pathHandlingRow('/s', '/fv1/', false, 'v1', '/fv1/req', '/sfv1/req'),
  pathHandlingRow('/s', '/tv0/', true, 'v0', '/tv0/req', '/s/req'),
  pathHandlingRow('/s', '/tv1/', true, 'v1', '/tv1/req', '/sreq'),

  // ───────────────────────── strip_path / path_handling: the remaining branches
  {
    name: 'docs strip_path example: /service/path/to/resource is proxied as /path/to/resource',
    routes: [{ name: 'r', paths: ['/service'], strip_path: true }],
    request: GET('/service/path/to/resource'),
    expect: 'r',
    upstreamPath: '/path/to/resource',
    strippedPrefix: '/service',
  },
  joinCase('v0: no service path, strip_path, exact prefix: upstream gets /', null, { paths: ['/foo'] }, '/foo', '/'),
  joinCase('v0: service path /, strip_path, prefix plus slash: upstream gets /', '/', { paths: ['/foo'] }, '/foo/', '/'),
  joinCase('v0: service path /, strip_path false: the request path as is', '/', { paths: ['/foo'], strip_path: false }, '/foo/bar', '/foo/bar'),
  joinCase('v0: service path /s/, strip_path, exact prefix: trailing slash dropped', '/s/', { paths: ['/foo'] }, '/foo', '/s'),
  joinCase('v0: service path /s/, strip_path, prefix plus slash: trailing slash kept', '/s/', { paths: ['/foo'] }, '/foo/', '/s/'),
  joinCase('v0: service path /s/, strip_path, postfix with slash: no double slash', '/s/', { paths: ['/foo'] }, '/foo/bar', '/s/bar'),
  joinCase('v0: service path /s/, strip_path, postfix without slash: joined', '/s/', { paths: ['/foo'] }, '/foobar', '/s/bar'),
  joinCase('v0: service path /s/, strip_path false: service path then request path', '/s/', { paths: ['/foo'], strip_path: false }, '/foo/bar', '/s/foo/bar'),
  joinCase('v0: service path /s, strip_path, exact prefix: upstream gets /s', '/s', { paths: ['/foo'] }, '/foo', '/s'),
  joinCase('v0: service path /s, strip_path, route path with trailing slash and exact request keeps the slash', '/s', { paths: ['/foo/'] }, '/foo/', '/s/'),
  joinCase('v0: service path /s, strip_path false, request /: upstream gets /s', '/s', { hosts: ['api.test'], strip_path: false }, '/', '/s'),
  joinCase('v0: route without paths and strip_path: the whole request path is appended', '/s', { hosts: ['api.test'] }, '/foo/bar', '/s/foo/bar'),
  joinCase('v0: route without paths, service path /: the request path as is', null, { hosts: ['api.test'] }, '/foo/', '/foo/'),
  joinCase('v0: a stripped postfix starting with a dot segment loses it', null, { paths: ['/foo'] }, '/foo..', '/'),
  joinCase('v1: service path /s/, strip_path, postfix with slash: no double slash', '/s/', { paths: ['/foo'], path_handling: 'v1' }, '/foo/bar', '/s/bar'),
  joinCase('v1: service path /s/, strip_path false: service path as prefix', '/s/', { paths: ['/foo'], path_handling: 'v1', strip_path: false }, '/foo/bar', '/s/foo/bar'),
  joinCase('v1: no service path, strip_path, exact prefix: upstream gets /', null, { paths: ['/foo'], path_handling: 'v1' }, '/foo', '/'),
  joinCase('v0: the query string is not part of the upstream path', '/s', { paths: ['/foo'] }, '/foo/bar?x=1&y=2', '/s/bar'),
  joinCase('v0: a regex match is stripped and the rest joined to the service path', '/s', { paths: ['~/v\\d+'] }, '/v2/items', '/s/items'),
];
