/**
 * Programs calling with `Authorization: Bearer <JWT>` (issue 3): verified
 * locally against the IdP's keys, the same decisions as the browser flow
 * without any redirect, Kong's exact 401/403 answers, and what the upstream
 * sees (token header, consumer headers, claim headers) — with every header
 * the plugin may set removed from the client's request first.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startOidcEnv, type OidcEnv } from './env.ts';

let env: OidcEnv;
let withScope: string;
let withoutScope: string;

before(async () => {
  env = await startOidcEnv();
  withScope = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access' });
  withoutScope = await env.idp.issueAccessToken({ username: 'Blog_without_scope', scope: 'openid' });
  await env.protect('api', { client_id: ['kong'], client_secret: ['kong-secret'], scopes_required: ['kong_api_access'], auth_methods: ['bearer'] });
});
after(() => env?.close());

describe('bearer tokens', () => {
  test('a valid token with the required scope reaches the upstream, which sees Authorization: Bearer <token>', async () => {
    const r = await env.call('/api', { headers: { authorization: `Bearer ${withScope}` } });
    assert.equal(r.status, 200);
    assert.equal(r.body.headers.authorization, `Bearer ${withScope}`);
  });

  test('a valid user without the scope gets 403 with Kong body and challenge, and the log names the scopes found', async () => {
    const r = await env.call('/api', { headers: { authorization: `Bearer ${withoutScope}` } });
    assert.equal(r.status, 403);
    assert.deepEqual(r.body, { message: 'Forbidden' });
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="127.0.0.1", error="insufficient_scope"');
    const lines = env.gw.logs.find('required scopes were not found');
    assert.ok(lines.length > 0);
    assert.match(String(lines.at(-1)!.msg), /required scopes were not found \[ openid, profile, email \]/);
    assert.equal(lines.at(-1)!.level, 35, 'logged at notice');
  });

  test('no credentials: 401 Unauthorized with the RFC 6750 challenge, no redirect for API clients', async () => {
    const r = await env.call('/api');
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { message: 'Unauthorized' });
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="127.0.0.1", error="invalid_token"');
    assert.ok(env.gw.logs.find('no suitable authorization credentials were provided').length > 0);
  });

  test('an expired token says so in error_description', async () => {
    const expired = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access', expiresIn: -60 });
    const r = await env.call('/api', { headers: { authorization: `Bearer ${expired}` } });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="127.0.0.1", error="invalid_token", error_description="The access token expired"');
  });

  test('the token is never written to the log', async () => {
    await env.call('/api', { headers: { authorization: `Bearer ${withScope}` } });
    await env.call('/api', { headers: { authorization: `Bearer ${withoutScope}` } });
    const text = env.gw.logs.text();
    assert.equal(text.includes(withScope), false);
    assert.equal(text.includes(withoutScope), false);
  });

  test('the token is also accepted from the access_token query argument and form body, and removed before proxying', async () => {
    const q = await env.call(`/api?access_token=${encodeURIComponent(withScope)}&keep=1`);
    assert.equal(q.status, 200);
    assert.deepEqual(q.body.args, { keep: '1' });
    const b = await env.call('/api', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `access_token=${encodeURIComponent(withScope)}&x=y` });
    assert.equal(b.status, 200);
    assert.deepEqual(b.body.form, { x: 'y' });
  });

  test('two Authorization headers are refused and the upstream is not contacted', async () => {
    const before = env.echo.requestCount();
    const r = await rawRequest(env.gw.proxyUrl, '/api', [['Authorization', `Bearer ${withScope}`], ['Authorization', `Bearer ${withoutScope}`]]);
    assert.equal(r.status, 401);
    assert.equal(env.echo.requestCount(), before);
  });
});

describe('responses as configured', () => {
  before(async () => {
    await env.protect('custom', {
      auth_methods: ['bearer'],
      scopes_required: ['kong_api_access'],
      display_errors: true,
      unauthorized_error_message: 'Please log in',
      forbidden_error_message: 'Not for you',
    });
    await env.protect('quiet', { auth_methods: ['bearer'], scopes_required: ['kong_api_access'], expose_error_code: false });
    await env.protect('redirects', { auth_methods: ['bearer'], scopes_required: ['kong_api_access'], unauthorized_redirect_uri: ['https://example.com/login'], forbidden_redirect_uri: ['https://example.com/denied'] });
  });

  test('display_errors appends the reason and custom messages replace Kong defaults', async () => {
    const f = await env.call('/custom', { headers: { authorization: `Bearer ${withoutScope}` } });
    assert.equal(f.status, 403);
    assert.deepEqual(f.body, { message: 'Not for you (required scopes were not found [ openid, profile, email ])' });
    const u = await env.call('/custom');
    assert.equal(u.status, 401);
    assert.deepEqual(u.body, { message: 'Please log in (no suitable authorization credentials were provided)' });
  });

  test('expose_error_code false keeps only the realm in the challenge', async () => {
    const r = await env.call('/quiet', { headers: { authorization: `Bearer ${withoutScope}` } });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="127.0.0.1"');
  });

  test('unauthorized and forbidden redirect URIs turn the answer into a 302', async () => {
    const u = await env.call('/redirects');
    assert.equal(u.status, 302);
    assert.equal(u.headers.get('location'), 'https://example.com/login');
    const f = await env.call('/redirects', { headers: { authorization: `Bearer ${withoutScope}` } });
    assert.equal(f.status, 302);
    assert.equal(f.headers.get('location'), 'https://example.com/denied');
  });

  test('run_on_preflight false lets OPTIONS through without credentials', async () => {
    await env.protect('preflight', { auth_methods: ['bearer'], run_on_preflight: false });
    const r = await env.call('/preflight', { method: 'OPTIONS' });
    assert.equal(r.status, 200);
    const g = await env.call('/preflight');
    assert.equal(g.status, 401);
  });
});

describe('consumers', () => {
  let consumerId: string;
  let anonymousId: string;
  before(async () => {
    const c = await env.gw.admin('POST', '/consumers', { username: 'Blog_with_scope', custom_id: 'cust-1' });
    consumerId = c.body.id;
    const anon = await env.gw.admin('POST', '/consumers', { username: 'anonymous-user' });
    anonymousId = anon.body.id;
    await env.protect('mapped', { auth_methods: ['bearer'], consumer_claim: ['preferred_username'], authenticated_groups_claim: ['groups'] });
    await env.protect('mapped-optional', { auth_methods: ['bearer'], consumer_claims: [['preferred_username']], consumer_optional: true });
    await env.protect('anon', { auth_methods: ['bearer'], scopes_required: ['kong_api_access'], anonymous: 'anonymous-user' });
  });

  test('the mapped consumer is announced upstream with Kong consumer headers; forged ones are replaced', async () => {
    const r = await env.call('/mapped', { headers: { authorization: `Bearer ${withScope}`, 'x-consumer-id': 'forged', 'x-consumer-username': 'admin', 'x-authenticated-groups': 'admins' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.headers['x-consumer-id'], consumerId);
    assert.equal(r.body.headers['x-consumer-username'], 'Blog_with_scope');
    assert.equal(r.body.headers['x-consumer-custom-id'], 'cust-1');
    assert.equal(r.body.headers['x-authenticated-groups'], 'kong_api_access');
    assert.equal(r.body.headers['x-credential-identifier'], '4a7e9a5c-2d1b-4c0e-9a53-6f1f1d0b7c11');
  });

  test('a token whose user has no consumer gets 403 unless consumer_optional', async () => {
    const r = await env.call('/mapped', { headers: { authorization: `Bearer ${withoutScope}` } });
    assert.equal(r.status, 403);
    assert.ok(env.gw.logs.find('kong consumer was not found').length > 0);
    const o = await env.call('/mapped-optional', { headers: { authorization: `Bearer ${withoutScope}`, 'x-consumer-id': 'forged' } });
    assert.equal(o.status, 200);
    assert.equal(o.body.headers['x-consumer-id'], undefined, 'a forged consumer header never reaches the upstream');
    assert.equal(o.body.headers['x-credential-identifier'], '8b2f6d3e-5a4c-4e1f-b7d2-1c9e0a3f5d22');
  });

  test('anonymous: a refused caller proceeds as the anonymous consumer with X-Anonymous-Consumer', async () => {
    const r = await env.call('/anon', { headers: { authorization: `Bearer ${withoutScope}` } });
    assert.equal(r.status, 200);
    assert.equal(r.body.headers['x-consumer-id'], anonymousId);
    assert.equal(r.body.headers['x-anonymous-consumer'], 'true');
    const ok = await env.call('/anon', { headers: { authorization: `Bearer ${withScope}`, 'x-anonymous-consumer': 'true' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.headers['x-anonymous-consumer'], undefined);
  });
});

describe('headers the upstream and the client see', () => {
  before(async () => {
    await env.protect('claims', {
      auth_methods: ['bearer'],
      upstream_headers: [
        { header: 'X-User', path: ['preferred_username'] },
        { header: 'X-Roles', path: ['realm_access', 'roles'] },
        { header: 'X-Verified', path: ['email_verified'] },
        { header: 'X-Exp', path: ['exp'] },
      ],
      downstream_headers: [{ header: 'X-Who', path: ['preferred_username'] }],
      upstream_id_token_header: 'x-id-token',
      upstream_access_token_header: 'x-access-token-copy',
      hide_credentials: true,
    });
    await env.protect('legacy-claims', { auth_methods: ['bearer'], upstream_headers_claims: ['email'], upstream_headers_names: ['x-email'] });
  });

  test('claim headers: strings as is, numbers and booleans as text, arrays as base64 JSON; downstream headers reach the client', async () => {
    const r = await env.call('/claims', { headers: { authorization: `Bearer ${withScope}`, 'x-user': 'forged', 'x-id-token': 'forged' } });
    assert.equal(r.status, 200);
    const h = r.body.headers;
    assert.equal(h['x-user'], 'Blog_with_scope');
    assert.deepEqual(JSON.parse(Buffer.from(h['x-roles'], 'base64').toString()).includes('kong_api_access'), true);
    assert.equal(h['x-verified'], 'true');
    assert.match(h['x-exp'], /^\d+$/);
    assert.equal(h['x-id-token'], undefined, 'sanitised even when not set this time');
    assert.equal(h['x-access-token-copy'], withScope);
    assert.equal(h.authorization, undefined, 'hide_credentials removed the client token and the token header is configured elsewhere');
    assert.equal(r.headers.get('x-who'), 'Blog_with_scope');
  });

  test('the 3.13 spelling upstream_headers_claims + upstream_headers_names still works', async () => {
    const r = await env.call('/legacy-claims', { headers: { authorization: `Bearer ${withScope}` } });
    assert.equal(r.status, 200);
    assert.equal(r.body.headers['x-email'], 'blog_with_scope@example.com');
  });
});

/** A request with exact header lines (fetch merges duplicates). */
async function rawRequest(base: string, path: string, headers: Array<[string, string]>): Promise<{ status: number }> {
  const { connect } = await import('node:net');
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => {
      let req = `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n`;
      for (const [k, v] of headers) req += `${k}: ${v}\r\n`;
      sock.write(req + '\r\n');
    });
    let data = '';
    sock.on('data', (c) => (data += c.toString()));
    sock.on('end', () => resolve({ status: Number(data.split(' ')[1]) }));
    sock.on('error', reject);
  });
}
