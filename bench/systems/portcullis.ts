/**
 * Portcullis as the CLI starts it — `node bin/portcullis.js start` in DB-less
 * mode with a generated declarative file, `--workers` processes, proxy and
 * Admin API on loopback ports — configured per scenario.
 */
import { copyFileSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { freePort, spawnService, waitForHttp } from '../lib/proc.ts';
import type { BenchEnv, SystemSpec, Target } from '../lib/types.ts';
import type { BenchIdp } from '../lib/idp.ts';
import type { RequestSpec } from '../lib/load.ts';
import { browserLogin } from '../lib/login.ts';
import { routesDocument, sampleRequests } from '../lib/routes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** null when the gateway's entry points exist in this tree, else what is missing. */
export function portcullisUnavailable(root = ROOT): string | null {
  for (const f of ['src/cli/main.ts', 'src/core/server.ts']) {
    if (!existsSync(join(root, f))) return `Portcullis is not built yet (${f} missing)`;
  }
  return null;
}

export interface PortcullisOptions {
  name: string;
  document: Record<string, unknown>;
  extraArgs?: string[];
  /** Extra environment (KONG_* settings) for the node. */
  env?: Record<string, string>;
}

export interface RunningPortcullis {
  base: string;
  admin: string;
  pid: number;
  profileDir: string | undefined;
  stop(): Promise<void>;
}

export async function startPortcullis(env: BenchEnv, opts: PortcullisOptions): Promise<RunningPortcullis> {
  const dir = join(env.tmp, opts.name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'kong.json');
  writeFileSync(file, JSON.stringify(opts.document, null, 1));
  const port = await freePort();
  const adminPort = await freePort();
  const args = [
    join(env.root, 'bin/portcullis.js'),
    'start',
    '--proxy-listen', `127.0.0.1:${port}`,
    '--admin-listen', `127.0.0.1:${adminPort}`,
    '--workers', String(env.workers),
    '--declarative-config', file,
    // Access logs off in every system (nginx access_log off, no CustomLog in Apache).
    '--log-level', 'warn',
    '--session-secret', randomBytes(32).toString('base64url'),
    ...(opts.extraArgs ?? []),
  ];
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', ...opts.env };
  let profileDir: string | undefined;
  if (env.cpuProfDir !== null) {
    // Inherited by the cluster workers: one profile per process, written when it exits.
    profileDir = join(env.cpuProfDir, opts.name);
    childEnv.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profileDir}`.trim();
  }
  const service = spawnService(opts.name, env.node, args, { logDir: env.tmp, cwd: dir, env: childEnv });
  const base = `http://127.0.0.1:${port}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  try {
    await waitForHttp(`${admin}/status`, { service, timeoutMs: 60_000, expect: (s) => s === 200 });
    // Workers bind after the primary; the proxy answers (any status) once they are up.
    await waitForHttp(`${base}/__bench/ready`, { service, timeoutMs: 60_000 });
  } catch (err) {
    await service.stop();
    throw err;
  }
  return { base, admin, pid: service.pid, profileDir, stop: () => service.stop() };
}

function portcullisTarget(p: RunningPortcullis, label: string, requests: RequestSpec[], notes: string[]): Target {
  return { kind: 'portcullis', label, base: p.base, pids: [p.pid], requests, notes, profileDir: p.profileDir, stop: () => p.stop() };
}

function service(env: BenchEnv, routes: Array<Record<string, unknown>>, plugins: Array<Record<string, unknown>> = []): Record<string, unknown> {
  return {
    _format_version: '3.0',
    services: [{ name: 'bench', url: env.upstream.base, routes }],
    ...(plugins.length > 0 ? { plugins } : {}),
  };
}

const CLAIM_HEADER = 'x-sub';

/** openid-connect settings shared by the bearer and introspection scenarios: the same checks as Apache's `Require claim`. */
function oidcBase(idp: BenchIdp): Record<string, unknown> {
  return {
    issuer: idp.issuer,
    client_id: [idp.clientId],
    client_secret: [idp.clientSecret],
    scopes_required: [idp.requiredScope],
    audience_required: [idp.clientId],
    upstream_headers_claims: ['sub'],
    upstream_headers_names: [CLAIM_HEADER],
  };
}

const spec = (label: string, start: (env: BenchEnv) => Promise<Target>): SystemSpec => ({
  kind: 'portcullis',
  label,
  unavailable: () => portcullisUnavailable(),
  start,
});

/** Scenario (a): one route, no plugins. */
export function portcullisPlainProxy(): SystemSpec {
  return spec('portcullis', async (env) => {
    const p = await startPortcullis(env, { name: 'portcullis-proxy', document: service(env, [{ name: 'all', paths: ['/'] }]) });
    return portcullisTarget(p, 'portcullis', [{ path: '/' }], [`${env.workers} workers, one route (paths /), no plugins`]);
  });
}

/**
 * Scenario (g), issue 14: the plain route to an upstream entity of 3
 * round-robin targets (127.0.0.1, localhost and ::ffff:127.0.0.1 on the
 * fixed upstream's port: three targets, one server), optionally with active
 * HTTP checks every second on each (`checks`).
 */
export function portcullisUpstream(checks: boolean): SystemSpec {
  const label = checks ? 'portcullis 3 targets + active checks' : 'portcullis 3 targets';
  return spec(label, async (env) => {
    const port = new URL(env.upstream.base).port;
    const healthchecks = checks ? { active: { http_path: '/', healthy: { interval: 1, successes: 1 }, unhealthy: { interval: 1, tcp_failures: 3, http_failures: 3, timeouts: 3 } } } : undefined;
    const document = {
      _format_version: '3.0',
      upstreams: [
        {
          name: 'bench-upstream',
          ...(healthchecks !== undefined ? { healthchecks } : {}),
          targets: [{ target: `127.0.0.1:${port}` }, { target: `localhost:${port}` }, { target: `[::ffff:127.0.0.1]:${port}` }],
        },
      ],
      services: [{ name: 'bench', host: 'bench-upstream', routes: [{ name: 'all', paths: ['/'] }] }],
    };
    const p = await startPortcullis(env, { name: checks ? 'portcullis-upstream-checked' : 'portcullis-upstream', document });
    return portcullisTarget(p, label, [{ path: '/' }], [`${env.workers} workers, one route, upstream entity round-robin over 3 targets${checks ? ', active http checks at 1 s' : ''}`]);
  });
}

/** Scenario (b): openid-connect with auth_methods [bearer]. */
export function portcullisBearer(tokens: 'one' | 'many'): SystemSpec {
  return spec('portcullis', async (env) => {
    const idp = await env.idp();
    const p = await startPortcullis(env, {
      name: `portcullis-bearer-${tokens}`,
      document: service(env, [{ name: 'all', paths: ['/'], plugins: [{ name: 'openid-connect', config: { ...oidcBase(idp), auth_methods: ['bearer'], bearer_token_param_type: ['header'] } }] }]),
    });
    const list = tokens === 'one' ? [idp.oneToken] : await idp.manyTokens(1000);
    return portcullisTarget(p, 'portcullis', list.map((t) => ({ path: '/', headers: { Authorization: `Bearer ${t}` } })), [
      `openid-connect auth_methods [bearer], JWKS discovered from the issuer, scopes_required [${idp.requiredScope}], audience_required [${idp.clientId}], upstream_headers_claims [sub] → ${CLAIM_HEADER}`,
    ]);
  });
}

/** Scenario (d): openid-connect with auth_methods [introspection], cache_introspection on (Kong's default). */
export function portcullisIntrospection(): SystemSpec {
  return spec('portcullis', async (env) => {
    const idp = await env.idp();
    const p = await startPortcullis(env, {
      name: 'portcullis-introspection',
      document: service(env, [{ name: 'all', paths: ['/'], plugins: [{ name: 'openid-connect', config: { ...oidcBase(idp), auth_methods: ['introspection'], bearer_token_param_type: ['header'], cache_introspection: true } }] }]),
    });
    const list = await idp.introspectionTokens();
    return portcullisTarget(p, 'portcullis', list.map((t) => ({ path: '/', headers: { Authorization: `Bearer ${t}` } })), [
      'openid-connect auth_methods [introspection] (endpoint from discovery, client_secret_basic), cache_introspection true, same scope/audience checks and claim header',
    ]);
  });
}

/** Scenario (c): openid-connect with session + authorization_code; one browser-style login, the cookie replayed. */
export function portcullisSession(): SystemSpec {
  return spec('portcullis', async (env) => {
    const idp = await env.idp();
    const p = await startPortcullis(env, {
      name: 'portcullis-session',
      document: service(env, [{
        name: 'app',
        paths: ['/app'],
        plugins: [{
          name: 'openid-connect',
          config: {
            issuer: idp.issuer,
            client_id: [idp.clientId],
            client_secret: [idp.clientSecret],
            auth_methods: ['session', 'authorization_code'],
            scopes: ['openid', 'profile', 'email', idp.requiredScope],
            upstream_headers_claims: ['sub'],
            upstream_headers_names: [CLAIM_HEADER],
          },
        }],
      }]),
    });
    const login = await browserLogin(`${p.base}/app/`, idp.username, idp.password);
    return portcullisTarget(p, 'portcullis', [{ path: '/app/', headers: { Cookie: login.cookieHeader } }], [
      `openid-connect auth_methods [session, authorization_code], ${login.steps} HTTP steps to log in once, cookie ${login.cookieNames.join(', ')} replayed; sub → ${CLAIM_HEADER}`,
    ]);
  });
}

/** Scenario (e): N routes (prefix/host/regex mix); requests rotate over 100 of them spread across the table. */
export function portcullisRoutes(count: number): SystemSpec {
  return spec(`portcullis ${count.toLocaleString('en')} route${count === 1 ? '' : 's'}`, async (env) => {
    const document = count === 1 ? service(env, [{ name: 'all', paths: ['/'] }]) : routesDocument(count, env.upstream.base);
    const p = await startPortcullis(env, { name: `portcullis-routes-${count}`, document });
    return portcullisTarget(p, `portcullis ${count.toLocaleString('en')} route${count === 1 ? '' : 's'}`, sampleRequests(count === 1 ? 10_000 : count, 100), [
      count === 1 ? 'one route (paths /) receiving the same 100-request mix' : `${count} routes (60% prefix, 20% host, 20% regex) in ${Math.ceil(count / 100)} services; 100 requests spread over the table`,
    ]);
  });
}

/** Scenario (f): rate-limiting on the plain route, local or redis policy, limits far above the offered load. */
export function portcullisRateLimited(policy: 'local' | 'redis'): SystemSpec {
  return spec(`portcullis rate-limiting ${policy}`, async (env) => {
    const config: Record<string, unknown> = { second: 1_000_000, hour: 1_000_000_000, policy, limit_by: 'ip' };
    if (policy === 'redis') config.redis = { host: '127.0.0.1', port: 6379 };
    const p = await startPortcullis(env, {
      name: `portcullis-rl-${policy}`,
      document: service(env, [{ name: 'all', paths: ['/'], plugins: [{ name: 'rate-limiting', config }] }]),
    });
    return portcullisTarget(p, `portcullis rate-limiting ${policy}`, [{ path: '/' }], [
      `rate-limiting policy ${policy}${policy === 'redis' ? ' (127.0.0.1:6379)' : ''}, limit_by ip, second 1,000,000 and hour 1,000,000,000 (never 429)`,
    ]);
  });
}

/** Scenario (g): rate-limiting local with a limit the load reaches: second = 1,000 for the whole node, limit_by ip. */
export function portcullisRateLimitReached(limit = 1000): SystemSpec {
  return spec('portcullis rate limit reached', async (env) => {
    const config = { second: limit, policy: 'local', limit_by: 'ip' };
    const p = await startPortcullis(env, {
      name: 'portcullis-rl-reached',
      document: service(env, [{ name: 'all', paths: ['/'], plugins: [{ name: 'rate-limiting', config }] }]),
    });
    return {
      ...portcullisTarget(p, 'portcullis rate limit reached', [{ path: '/' }], [
        `rate-limiting policy local, limit_by ip (one client address), second ${limit.toLocaleString('en')} for the node (${env.workers} workers): the rest answered 429`,
      ]),
      admitsPerSecond: limit,
    };
  });
}

/** Scenario (h): proxy-cache strategy memory; after the first request every answer is a Hit from the node's cache. */
export function portcullisProxyCache(): SystemSpec {
  return spec('portcullis proxy-cache', async (env) => {
    const config = { strategy: 'memory', content_type: ['application/json'], cache_ttl: 300 };
    const p = await startPortcullis(env, {
      name: 'portcullis-proxy-cache',
      document: service(env, [{ name: 'all', paths: ['/'], plugins: [{ name: 'proxy-cache', config }] }]),
    });
    return {
      ...portcullisTarget(p, 'portcullis proxy-cache', [{ path: '/' }], [
        `proxy-cache strategy memory (one cache per node, ${env.workers} workers), content_type application/json, cache_ttl 300: every measured request a Hit`,
      ]),
      caches: true,
    };
  });
}

/**
 * Scenario (j), issue 18: the plain route with kong-pdk's js-hello example
 * (unmodified, test/fixtures/kong-js-pdk) in access, run in-process from a
 * kong-js-pluginserver plugins directory: a Kong user's plugin-server settings.
 */
export function portcullisKongPdk(): SystemSpec {
  return spec('portcullis + kong-pdk js-hello', async (env) => {
    const dir = join(env.tmp, 'js-plugins');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(env.root, 'test/fixtures/kong-js-pdk/js-hello.js'), join(dir, 'js-hello.js'));
    const p = await startPortcullis(env, {
      name: 'portcullis-kong-pdk',
      document: service(env, [{ name: 'all', paths: ['/'], plugins: [{ name: 'js-hello', config: { message: 'bench' } }] }]),
      env: {
        KONG_PLUGINS: 'bundled,js-hello',
        KONG_PLUGINSERVER_NAMES: 'js',
        KONG_PLUGINSERVER_JS_START_CMD: `/usr/local/bin/kong-js-pluginserver --plugins-directory ${dir}`,
      },
    });
    return portcullisTarget(p, 'portcullis + kong-pdk js-hello', [{ path: '/' }], [
      `${env.workers} workers, one route, kong-pdk's js-hello in access (3 PDK calls: request.getHeader, 2 × response.setHeader), in-process`,
    ]);
  });
}

/**
 * Scenario (k): the plain route with a global opentelemetry plugin.
 * `propagation`: Kong's default tracing_instrumentations = off — trace
 * headers injected upstream, no span recorded. `traced`: every span
 * recorded and exported (tracing_instrumentations all, sampling 1) to an
 * OTLP/HTTP sink in this process that answers 200 and counts the bytes.
 */
export function portcullisOpenTelemetry(mode: 'propagation' | 'traced'): SystemSpec {
  const label = `portcullis opentelemetry ${mode === 'traced' ? 'all spans exported' : 'propagation only'}`;
  return spec(label, async (env) => {
    let received = 0;
    const sink = createServer((req, res) => {
      req.on('data', (c: Buffer) => (received += c.length));
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/v1/traces`;
    const document = service(env, [{ name: 'all', paths: ['/'] }], [{ name: 'opentelemetry', config: { traces_endpoint: sinkUrl } }]);
    const extraArgs = mode === 'traced' ? ['--tracing-instrumentations', 'all', '--tracing-sampling-rate', '1'] : [];
    const p = await startPortcullis(env, { name: `portcullis-otel-${mode}`, document, extraArgs });
    const t = portcullisTarget(p, label, [{ path: '/' }], [
      mode === 'traced'
        ? `${env.workers} workers, global opentelemetry, tracing_instrumentations all, sampling 1: 6 spans per request encoded and sent in batches of 200 to a local OTLP sink`
        : `${env.workers} workers, global opentelemetry with Kong's default tracing_instrumentations off: traceparent injected, no spans`,
    ]);
    return {
      ...t,
      stop: async () => {
        await t.stop();
        sink.closeAllConnections();
        await new Promise((r) => sink.close(r));
        if (mode === 'traced') process.stdout.write(`  ${label}: the sink received ${(received / 1048576).toFixed(1)} MiB of OTLP\n`);
      },
    };
  });
}
