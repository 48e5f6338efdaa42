/**
 * Building what the upstream receives: the client's headers copied minus
 * hop-by-hop ones (src/core/proxy/headers.ts), then the openid-connect claim
 * header — sanitised first (a client-sent X-Sub never passes), then set from
 * the verified claims (src/plugins/openid-connect/headers.ts).
 *
 *   node bench/micro/header-injection.ts [--json]
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { RequestContext } from '../../src/core/context.ts';
import { copyRequestHeaders } from '../../src/core/proxy/headers.ts';
import { compileHeaders, injectHeaders, sanitizeHeaders, type HeaderSources } from '../../src/plugins/openid-connect/headers.ts';
import type { ConsumerIndex } from '../../src/plugins/types.ts';
import { benchSync, printResults, type MicroResult } from './harness.ts';

const HEADERS: IncomingHttpHeaders = {
  host: 'api.example.test',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) bench',
  accept: 'application/json',
  'accept-encoding': 'gzip, deflate, br',
  'accept-language': 'en-GB,en;q=0.9',
  authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl',
  connection: 'keep-alive',
  'x-request-id': '7f6c1b2e-3c1d-4e8f-9a0b-1c2d3e4f5a6b',
  'x-sub': 'spoofed-by-the-client',
};

export function runHeaderInjection(minMs = 1000): MicroResult[] {
  const plan = compileHeaders({ upstream_headers: null, downstream_headers: null, upstream_headers_claims: ['sub', 'preferred_username'], upstream_headers_names: ['x-sub', 'x-user'] });
  const claims = { sub: '4a7e9a5c-2d1b-4c0e-9a53-6f1f1d0b7c11', preferred_username: 'blog_with_scope', scope: 'openid kong_api_access', aud: ['kong', 'account'] };
  const sources: HeaderSources = { accessToken: 'token', idToken: null, refreshToken: null, accessClaims: claims, idClaims: null, introspection: null, userinfo: null, accessTokenJwk: null, idTokenJwk: null, sessionId: null };
  const sink = { addDownstream(): void {} };
  const req = { method: 'GET', url: '/', headers: HEADERS, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
  const res = {} as ServerResponse;
  const consumers = {} as ConsumerIndex;
  const results: MicroResult[] = [];
  results.push(benchSync('copy request headers (hop-by-hop removed)', () => copyRequestHeaders(HEADERS), { minMs }));
  results.push(benchSync('copy + sanitise + inject 2 claim headers', () => {
    const ctx = new RequestContext(req, res, 'id', 0, consumers);
    ctx.upstreamHeaders = copyRequestHeaders(HEADERS);
    sanitizeHeaders(ctx, plan);
    injectHeaders(ctx, plan, sources, sink);
    return ctx.upstreamHeaders;
  }, { minMs }));
  return results;
}

if (import.meta.main) {
  const results = runHeaderInjection();
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(results)}\n`);
  else printResults('header injection', results);
}
