/**
 * The plugin chain of one request, as the proxy runs it: a fresh
 * RequestContext, then access → header_filter → log over the route's plan,
 * built by the real runtime builder from a declarative file (compiled
 * configs, Kong precedence). Chains:
 *   - none (the empty plan every plugin-less route shares),
 *   - correlation-id + request-transformer + cors,
 *   - the same + rate-limiting (local policy),
 *   - openid-connect bearer (verified-token cache hit, IdP in this process),
 *   - kong-pdk's js-hello example, in-process (issue 18: 3 PDK calls, each a Promise).
 *
 *   node bench/micro/plugin-chain.ts [--json]
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { RequestContext } from '../../src/core/context.ts';
import { buildRuntime } from '../../src/core/runtime.ts';
import { runAccess, runHeaderFilter, runLog } from '../../src/core/pipeline/runner.ts';
import { copyRequestHeaders } from '../../src/core/proxy/headers.ts';
import type { PluginPlan } from '../../src/core/pipeline/types.ts';
import type { Runtime } from '../../src/core/runtime-types.ts';
import { parseDeclarative } from '../../src/store/declarative/index.ts';
import { createLogger } from '../../src/shared/log.ts';
import { startIdp } from '../../src/dev/idp.ts';
import { benchAsync, printResults, type MicroResult } from './harness.ts';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerCustomPlugin } from '../../src/plugins/index.ts';
import { fromKongPdk, type KongPdkModule } from '../../src/plugins/custom/js-plugin.ts';

const log = createLogger('silent');
const settings = { sessionSecret: 'bench-session-secret-0123456789abcdef', sessionSecretGenerated: false, redisUrl: null, trustedIps: [] };

function runtimeFor(plugins: Array<Record<string, unknown>>): { runtime: Runtime; plan: PluginPlan } {
  const doc = { _format_version: '3.0', services: [{ name: 's', url: 'http://127.0.0.1:9/', routes: [{ name: 'r', paths: ['/'], plugins }] }] };
  const parsed = parseDeclarative(JSON.stringify(doc), { format: 'json' });
  if (!parsed.ok) throw new Error(parsed.message);
  const runtime = buildRuntime({ ...parsed.config, version: 1 }, { settings, log });
  const route = parsed.config.routes[0]!;
  return { runtime, plan: runtime.plans.get(route.id)! };
}

function chain(name: string, runtime: Runtime, plan: PluginPlan, headers: IncomingHttpHeaders, minMs: number): Promise<MicroResult> {
  const route = runtime.router.match({ method: 'GET', host: 'api.example.test', port: 8000, path: '/', headers, sni: null, scheme: 'http' });
  if (route === null) throw new Error('no route');
  const rawHeaders = Object.entries(headers).flatMap(([k, v]) => [k, String(v)]);
  const headersDistinct = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [String(v)]]));
  const req = { method: 'GET', url: '/items?x=1', headers, rawHeaders, headersDistinct, socket: { remoteAddress: '127.0.0.1', remotePort: 40000 }, httpVersion: '1.1' } as unknown as IncomingMessage;
  const res = { setHeader() {}, getHeader() {}, removeHeader() {} } as unknown as ServerResponse;
  let failures = 0;
  return benchAsync(name, async (i) => {
    const ctx = new RequestContext(req, res, `req-${i}`, performance.now(), runtime.consumers);
    ctx.host = 'api.example.test';
    ctx.port = 8000;
    ctx.rawPath = '/items';
    ctx.path = '/items';
    ctx.query = 'x=1';
    ctx.clientIp = '127.0.0.1';
    ctx.route = route.route;
    ctx.service = route.service;
    ctx.upstreamPath = route.upstreamPath;
    ctx.upstreamHeaders = copyRequestHeaders(headers);
    const pending = runAccess(ctx, plan);
    if (pending !== undefined) await pending;
    if (ctx.exitStatus !== 0 && ++failures === 1) throw new Error(`${name}: the chain answered ${ctx.exitStatus} ${String(ctx.exitBody)}`);
    ctx.upstreamStatus = 200;
    ctx.upstreamResponseHeaders = { 'content-type': 'application/json', 'content-length': '12' };
    runHeaderFilter(ctx, plan, log);
    runLog(ctx, plan, log);
    return ctx;
  }, { minMs });
}

export async function runPluginChain(minMs = 1000): Promise<MicroResult[]> {
  const headers: IncomingHttpHeaders = { host: 'api.example.test', 'user-agent': 'bench', accept: 'application/json', origin: 'https://app.example.test' };
  const policies = [
    { name: 'correlation-id', config: { header_name: 'X-Correlation-ID', generator: 'uuid#counter', echo_downstream: true } },
    { name: 'request-transformer', config: { add: { headers: ['x-gateway:portcullis'] } } },
    { name: 'cors', config: { origins: ['https://app.example.test'] } },
  ];
  const results: MicroResult[] = [];
  const none = runtimeFor([]);
  results.push(await chain('no plugins', none.runtime, none.plan, headers, minMs));
  const three = runtimeFor(policies);
  results.push(await chain('correlation-id + request-transformer + cors', three.runtime, three.plan, headers, minMs));
  const four = runtimeFor([...policies, { name: 'rate-limiting', config: { second: 1_000_000_000, policy: 'local', limit_by: 'ip' } }]);
  results.push(await chain('… + rate-limiting (local)', four.runtime, four.plan, headers, minMs));

  const idp = await startIdp({ port: 0, accessTokenTtl: 3600 });
  try {
    const token = await idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid profile email kong_api_access' });
    const oidc = runtimeFor([{
      name: 'openid-connect',
      config: {
        issuer: idp.issuer,
        client_id: ['kong'],
        client_secret: ['kong-secret'],
        auth_methods: ['bearer'],
        scopes_required: ['kong_api_access'],
        audience_required: ['kong'],
        upstream_headers_claims: ['sub'],
        upstream_headers_names: ['x-sub'],
      },
    }]);
    results.push(await chain('openid-connect bearer (verified-token cache hit)', oidc.runtime, oidc.plan, { ...headers, authorization: `Bearer ${token}` }, minMs));
    await oidc.runtime.dispose();
  } finally {
    await idp.close();
  }
  // kong-pdk's js-hello, unmodified (CommonJS: copied out of this "type": "module" package to load as it would from a plugins directory).
  const dir = mkdtempSync(join(tmpdir(), 'bench-js-plugins-'));
  const file = join(dir, 'js-hello.js');
  copyFileSync(new URL('../../test/fixtures/kong-js-pdk/js-hello.js', import.meta.url), file);
  const mod = ((await import(pathToFileURL(file).href)) as { default: KongPdkModule }).default;
  registerCustomPlugin(fromKongPdk(mod, file), file);
  const js = runtimeFor([{ name: 'js-hello', config: { message: 'bench' } }]);
  results.push(await chain("kong-pdk js-hello (in-process, 3 PDK calls)", js.runtime, js.plan, headers, minMs));
  for (const r of [none, three, four, js]) await r.runtime.dispose();
  return results;
}

if (import.meta.main) {
  const results = await runPluginChain();
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(results)}\n`);
  else printResults('plugin chain (access + header_filter + log)', results);
  process.exit(0);
}
