/**
 * Beyond Kong's exporter (docs/plugins/prometheus.md): the openid-connect
 * plugin's authentication decisions by outcome and reason per route, and its
 * requests to the identity provider with their latency, against a real IdP
 * (oidc-provider) — what an operator needs to tell "callers send bad tokens"
 * from "our IdP is down".
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startOidcEnv, type OidcEnv } from '../openid-connect/env.ts';

let env: OidcEnv;

before(async () => {
  env = await startOidcEnv({ gateway: { logLevel: 'warn' } });
});
after(() => env?.close());

async function metrics(): Promise<string> {
  const res = await fetch(`${env.gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

function sample(text: string, line: string): number | null {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? null : Number(found.slice(line.length + 1));
}

const decision = (route: string, outcome: string, code: string, reason: string): string =>
  `portcullis_oidc_auth_decisions_total{service="${service(route)}",route="${route}",outcome="${outcome}",code="${code}",reason="${reason}"}`;
/** env.protect names the service svc-<name>-<n>; the test reads it back from the Admin API. */
const services = new Map<string, string>();
const service = (route: string): string => services.get(route)!;

async function protect(name: string, config: Record<string, unknown>): Promise<void> {
  await env.protect(name, config);
  const r = await env.gw.admin('GET', `/routes/route-${name}`);
  const svc = await env.gw.admin('GET', `/services/${r.body.service.id}`);
  services.set(`route-${name}`, svc.body.name);
}

test('decisions by outcome and reason: allow (bearer), 401 no_credential / invalid_token / token_expired, 403 insufficient_scope', async () => {
  await protect('mx', { client_id: ['kong'], client_secret: ['kong-secret'], scopes_required: ['kong_api_access'], auth_methods: ['bearer'] });
  const good = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access' });
  const noScope = await env.idp.issueAccessToken({ username: 'Blog_without_scope', scope: 'openid' });
  const expired = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access', expiresIn: -60 });
  const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
  assert.equal((await env.call('/mx', bearer(good))).status, 200);
  assert.equal((await env.call('/mx', bearer(good))).status, 200);
  assert.equal((await env.call('/mx', bearer(noScope))).status, 403);
  assert.equal((await env.call('/mx')).status, 401);
  assert.equal((await env.call('/mx', bearer(expired))).status, 401);
  assert.equal((await env.call('/mx', bearer(`${good.slice(0, -4)}AAAA`))).status, 401);

  const text = await metrics();
  assert.equal(sample(text, decision('route-mx', 'allow', '', 'bearer')), 2);
  assert.equal(sample(text, decision('route-mx', 'deny', '403', 'insufficient_scope')), 1);
  assert.equal(sample(text, decision('route-mx', 'deny', '401', 'no_credential')), 1);
  assert.equal(sample(text, decision('route-mx', 'deny', '401', 'token_expired')), 1);
  assert.equal(sample(text, decision('route-mx', 'deny', '401', 'invalid_token')), 1);
  assert.match(text, /^# TYPE portcullis_oidc_auth_decisions_total counter$/m);

  // The IdP was asked for its discovery document and keys; both answered 2xx, and each took some time.
  const idp = new URL(env.idp.issuer).origin;
  assert.ok((sample(text, `portcullis_oidc_idp_requests_total{endpoint="discovery",idp="${idp}",outcome="2xx"}`) ?? 0) >= 1);
  assert.ok((sample(text, `portcullis_oidc_idp_requests_total{endpoint="jwks",idp="${idp}",outcome="2xx"}`) ?? 0) >= 1);
  assert.ok((sample(text, `portcullis_oidc_idp_request_duration_ms_count{endpoint="jwks",idp="${idp}"}`) ?? 0) >= 1);
  assert.match(text, new RegExp(`^portcullis_oidc_idp_request_duration_ms_bucket\\{endpoint="discovery",idp="${idp.replace(/[.]/g, '\\.')}",le="\\+Inf"\\} [1-9]`, 'm'));
});

test('an unreachable IdP: 500, counted as error/idp_unavailable, and its failed request as outcome="error"', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r)); // nothing listens there now
  await protect('mxdown', { issuer: `http://127.0.0.1:${port}/realms/gone`, auth_methods: ['bearer'] });
  const token = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid' });
  assert.equal((await env.call('/mxdown', { headers: { authorization: `Bearer ${token}` } })).status, 500);
  const text = await metrics();
  assert.equal(sample(text, decision('route-mxdown', 'error', '500', 'idp_unavailable')), 1);
  assert.ok((sample(text, `portcullis_oidc_idp_requests_total{endpoint="discovery",idp="http://127.0.0.1:${port}",outcome="error"}`) ?? 0) >= 1);
});

test('an anonymous fallback is counted as anonymous with the reason of the failed check', async () => {
  assert.equal((await env.gw.admin('POST', '/consumers', { username: 'mx-anon' })).status, 201);
  await protect('mxanon', { client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'], anonymous: 'mx-anon' });
  assert.equal((await env.call('/mxanon')).status, 200);
  assert.equal(sample(await metrics(), decision('route-mxanon', 'anonymous', '', 'no_credential')), 1);
});
