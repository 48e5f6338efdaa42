/**
 * Smaller Kong features a configuration may rely on: sessions issued to
 * bearer clients (and `disable_session`), revocation checks of JWTs by
 * introspection (`introspect_jwt_tokens`), the JWK and refresh-token
 * headers, `jwt_session_cookie`, token endpoint header replay, and the
 * unauthenticated logout answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_PASSWORD } from '../../helpers/idp.ts';
import { basic, startOidcEnv, type OidcEnv } from './env.ts';

let env: OidcEnv;
let token: string;
before(async () => {
  env = await startOidcEnv();
  token = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access' });
  const client = { client_id: ['kong'], client_secret: ['kong-secret'] };
  await env.protect('sessions', { ...client, auth_methods: ['bearer', 'session'] });
  await env.protect('nosession', { ...client, auth_methods: ['bearer', 'session'], disable_session: ['bearer'] });
  await env.protect('revocable', { ...client, auth_methods: ['bearer'], introspect_jwt_tokens: true });
  await env.protect('jwk', { ...client, auth_methods: ['bearer'], upstream_access_token_jwk_header: 'x-jwk' });
  await env.protect('refresh-header', { ...client, auth_methods: ['password'], upstream_refresh_token_header: 'x-refresh', downstream_access_token_header: 'x-token' });
  await env.protect('sid', { ...client, auth_methods: ['bearer'], jwt_session_cookie: 'app_sid', jwt_session_claim: 'sid' });
  await env.protect('plain-logout', { auth_methods: ['bearer'], logout_query_arg: 'bye' });
  await env.protect('cookie-bearer', { auth_methods: ['bearer'], bearer_token_param_type: ['cookie'], bearer_token_cookie_name: 'at' });
  await env.protect('mapped-session', { ...client, auth_methods: ['bearer', 'session'], consumer_claims: [['preferred_username']] });
});
after(() => env?.close());

describe('sessions for programs', () => {
  test('a bearer login issues a session cookie that authenticates the next request on its own', async () => {
    const first = await env.call('/sessions', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(first.status, 200);
    const cookies = first.headers.getSetCookie().map((c) => c.split(';')[0]!);
    assert.ok(cookies.some((c) => c.startsWith('session=')), 'a session cookie');
    const second = await env.call('/sessions', { headers: { cookie: cookies.join('; ') } });
    assert.equal(second.status, 200);
    assert.equal(second.body.headers.authorization, `Bearer ${token}`);
    assert.equal(second.body.headers.cookie, undefined, 'the session cookie is not forwarded');
  });

  test('a tampered session cookie is no session (401, no redirect for bearer-only routes)', async () => {
    const r = await env.call('/sessions', { headers: { cookie: 'session=AAAA' + 'x'.repeat(200) } });
    assert.equal(r.status, 401);
  });

  test('disable_session: no cookie for bearer logins', async () => {
    const r = await env.call('/nosession', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers.getSetCookie(), []);
  });
});

describe('sessions that stop being good enough', () => {
  test('forbidden_destroy_session: when the session user no longer maps to a consumer, the 403 also deletes the session cookie', async () => {
    const c = await env.gw.admin('POST', '/consumers', { username: 'Blog_with_scope' });
    assert.equal(c.status, 201);
    await env.gw.settle();
    const login = await env.call('/mapped-session', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(login.status, 200);
    const cookie = login.headers.getSetCookie().map((x) => x.split(';')[0]!).join('; ');
    assert.equal((await env.call('/mapped-session', { headers: { cookie } })).status, 200);
    assert.equal((await env.gw.admin('DELETE', '/consumers/Blog_with_scope')).status, 204);
    await env.gw.settle();
    const r = await env.call('/mapped-session', { headers: { cookie } });
    assert.equal(r.status, 403);
    assert.ok(r.headers.getSetCookie().some((x) => /^session=;/.test(x) && /Max-Age=0/.test(x)), r.headers.getSetCookie().join(' | '));
  });
});

describe('token checks and headers', () => {
  test('a bearer token in a cookie (bearer_token_param_type cookie) is used and removed from the upstream cookies', async () => {
    const r = await env.call('/cookie-bearer', { headers: { cookie: `at=${token}; keep=1` } });
    assert.equal(r.status, 200);
    assert.equal(r.body.headers.cookie, 'keep=1');
    assert.equal(r.body.headers.authorization, `Bearer ${token}`);
  });

  test('introspect_jwt_tokens: a JWT revoked at the IdP is refused although its signature is valid', async () => {
    const t = await env.idp.issueAccessToken({ username: 'Blog_with_scope' });
    assert.equal((await env.call('/revocable', { headers: { authorization: `Bearer ${t}` } })).status, 200);
    const t2 = await env.idp.issueAccessToken({ username: 'Blog_with_scope' });
    const rev = await fetch(env.idp.endpoints.revocation, { method: 'POST', headers: { authorization: basic('kong', 'kong-secret'), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t2, token_type_hint: 'access_token' }) });
    assert.equal(rev.status, 200);
    const r = await env.call('/revocable', { headers: { authorization: `Bearer ${t2}` } });
    assert.equal(r.status, 401);
    assert.ok(env.gw.logs.find('jwt bearer token is not active anymore or has been revoked').length > 0);
  });

  test('upstream_access_token_jwk_header carries the verifying public key (base64 JSON)', async () => {
    const r = await env.call('/jwk', { headers: { authorization: `Bearer ${token}` } });
    const jwk = JSON.parse(Buffer.from(r.body.headers['x-jwk'], 'base64').toString()) as Record<string, unknown>;
    assert.equal(jwk.kty, 'RSA');
    assert.equal(jwk.d, undefined);
  });

  test('refresh token upstream and access token downstream headers', async () => {
    const r = await env.call('/refresh-header', { headers: { authorization: basic('Blog_with_scope', DEMO_PASSWORD) } });
    assert.equal(r.status, 200);
    assert.ok((r.body.headers['x-refresh'] as string).length > 10);
    assert.match(r.headers.get('x-token') ?? '', /^ey/);
  });

  test('jwt_session_cookie: the token claim must match the cookie', async () => {
    const t = await env.idp.issueAccessToken({ username: 'Blog_with_scope', extraClaims: { sid: 'abc' } });
    assert.equal((await env.call('/sid', { headers: { authorization: `Bearer ${t}`, cookie: 'app_sid=abc' } })).status, 200);
    assert.equal((await env.call('/sid', { headers: { authorization: `Bearer ${t}`, cookie: 'app_sid=other' } })).status, 401);
    assert.equal((await env.call('/sid', { headers: { authorization: `Bearer ${t}` } })).status, 401);
  });
});

describe('logout', () => {
  test('logout without a session still goes to the discovered end session endpoint; GET is not a logout method by default', async () => {
    const r = await env.call('/plain-logout?bye', { method: 'POST' });
    assert.equal(r.status, 302);
    assert.ok(r.headers.get('location')!.startsWith(env.idp.endpoints.end_session));
    const g = await env.call('/plain-logout?bye');
    assert.equal(g.status, 401, 'GET is not a logout method by default');
  });
});
