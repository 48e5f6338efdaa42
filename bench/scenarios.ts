/**
 * The scenarios of issue 5, each a list of systems interleaved in one run.
 * Every scenario includes the direct-upstream baseline; the `peer` is the
 * system each Portcullis figure is divided by.
 */
import type { Scenario } from './lib/types.ts';
import { directUpstream } from './systems/direct.ts';
import { nginxPlainProxy, nginxProxyCache, nginxRateLimited } from './systems/nginx.ts';
import { apacheBearer, apacheIntrospection, apacheSession } from './systems/apache.ts';
import {
  portcullisBearer,
  portcullisIntrospection,
  portcullisKongPdk,
  portcullisOpenTelemetry,
  portcullisPlainProxy,
  portcullisProxyCache,
  portcullisRateLimitReached,
  portcullisRateLimited,
  portcullisRoutes,
  portcullisSession,
  portcullisUpstream,
} from './systems/portcullis.ts';

export const SCENARIOS: Scenario[] = [
  {
    id: 'a',
    title: '(a) plain proxy',
    description: 'GET / proxied to the fixed upstream over keep-alive connections; no plugins.',
    peer: 'nginx',
    systems: [directUpstream(), nginxPlainProxy(), portcullisPlainProxy()],
  },
  {
    id: 'b1',
    title: '(b) bearer JWT, one token repeated',
    description: 'Authorization: Bearer <RS256 JWT from the local IdP>, the same token on every request: signature (JWKS), exp, iss, aud and the kong_api_access scope checked, sub injected as a request header.',
    peer: 'apache',
    systems: [directUpstream(), apacheBearer('one'), portcullisBearer('one')],
  },
  {
    id: 'bN',
    title: '(b) bearer JWT, 1,000 distinct tokens rotated',
    description: 'As (b), but every request carries the next of 1,000 distinct valid tokens, so a verified-token cache gives no advantage unless it holds all of them.',
    peer: 'apache',
    systems: [directUpstream(), apacheBearer('many'), portcullisBearer('many')],
  },
  {
    id: 'c',
    title: '(c) session cookie after a browser-style login',
    description: 'One authorization-code login through the IdP login form (done once, over HTTP, like a browser); then every request replays the session cookie.',
    peer: 'apache',
    systems: [directUpstream(), apacheSession(), portcullisSession()],
  },
  {
    id: 'd',
    title: '(d) introspection with caching',
    description: 'RFC 7662 token introspection at the IdP, results cached until the token expires; 250 distinct tokens rotated (the warm-up fills the cache; the IdP keeps only so many tokens introspectable).',
    peer: 'apache',
    systems: [directUpstream(), apacheIntrospection(), portcullisIntrospection()],
  },
  {
    id: 'e',
    title: '(e) 1, 1,000 and 10,000 routes',
    description: 'Routes in a 60% prefix / 20% host / 20% regex mix; requests rotate over 100 routes spread across the table (the 1-route gateway gets the same requests on a catch-all route).',
    peer: null,
    systems: [directUpstream(), portcullisRoutes(1), portcullisRoutes(1000), portcullisRoutes(10_000)],
  },
  {
    id: 'f',
    title: '(f) rate-limiting, local and redis',
    description: 'The plain route with rate-limiting (limits far above the offered load, so nothing is rejected): counters in process memory (local) or in Redis (redis).',
    peer: 'nginx',
    systems: [directUpstream(), nginxRateLimited(), portcullisRateLimited('local'), portcullisRateLimited('redis')],
  },
  {
    id: 'g',
    title: '(g) rate-limiting local, limit reached',
    description:
      'The plain route with rate-limiting policy local, second = 1,000 for the whole node (one client address), under the full load across all workers: the upstream must see limit × the UTC seconds a round touched (±1%), every other answer a 429, no errors. Rounds start 100 ms into a second.',
    peer: null,
    systems: [portcullisRateLimitReached(1000)],
  },
  {
    id: 'h',
    title: '(h) proxy-cache hits',
    description:
      'GET / with a response cache in front of the upstream: Portcullis proxy-cache (strategy memory, one cache per node) against nginx proxy_cache, both answering every measured request from their cache (the warm-up fills it).',
    peer: 'nginx',
    systems: [directUpstream(), nginxProxyCache(), portcullisProxyCache()],
  },
  {
    id: 'i',
    title: '(i) upstream entity: 3 round-robin targets vs a single target (issue 14)',
    description: 'The plain route (a) to a service host naming an upstream of 3 targets (one server behind three addresses), without and with active health checks at 1 s; compare with the single-target gateway (budget: ≤ 5% slower, checks not measurable).',
    peer: null,
    systems: [directUpstream(), portcullisPlainProxy(), portcullisUpstream(false), portcullisUpstream(true)],
  },
  {
    id: 'j',
    title: '(j) one in-process kong-pdk plugin in access (issue 18)',
    description:
      "The plain route (a) with kong-pdk's js-hello example in access, loaded from a kong-js-pluginserver plugins directory and run in-process (3 PDK calls per request); compare with the same route without it (budget: ≥ 0.8×).",
    peer: null,
    systems: [directUpstream(), portcullisPlainProxy(), portcullisKongPdk()],
  },
  {
    id: 'k',
    title: '(k) opentelemetry: propagation only, and every span exported',
    description:
      "The plain route (a) with a global opentelemetry plugin: with Kong's default tracing_instrumentations = off (trace headers only), and with all instrumentations and sampling 1 exporting every request's spans over OTLP/HTTP to a local sink.",
    peer: null,
    systems: [directUpstream(), portcullisPlainProxy(), portcullisOpenTelemetry('propagation'), portcullisOpenTelemetry('traced')],
  },
];

/** `--scenario a,b,e`: letters select every variant (b → b1, bN). */
export function selectScenarios(list: string | undefined): Scenario[] {
  if (list === undefined || list === '' || list === 'all') return SCENARIOS;
  const wanted = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const out = SCENARIOS.filter((s) => wanted.some((w) => s.id === w || s.id.startsWith(w) || (w.length === 1 && s.id[0] === w)));
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.id === w || s.id.startsWith(w)));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  return out;
}
