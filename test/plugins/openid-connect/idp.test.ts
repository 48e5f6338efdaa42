/**
 * Talking to the identity provider: introspection (RFC 7662) and userinfo as
 * authentication methods, caching so a token already seen never costs an IdP
 * call, IdP outages (cached keys keep bearer tokens working; an unreachable
 * introspection endpoint is a 500, never a 401 and never a 200), key
 * rotation without restart, an IdP that is down when the gateway starts, and
 * the Admin API's view of the discovery cache.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { idpFailures } from '../../../src/plugins/openid-connect/failures.ts';
import { startOidcEnv, type OidcEnv } from './env.ts';

const INTROSPECT = '/protocol/openid-connect/token/introspect';
const USERINFO = '/protocol/openid-connect/userinfo';
const CERTS = '/protocol/openid-connect/certs';
const DISCOVERY = '/.well-known/openid-configuration';

async function failures(endpoint: string): Promise<number> {
  const m = await idpFailures.get();
  return m.values.filter((v) => v.labels.endpoint === endpoint).reduce((a, v) => a + v.value, 0);
}

let env: OidcEnv;
before(async () => {
  env = await startOidcEnv();
});
after(() => env?.close());

const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

describe('introspection', () => {
  before(async () => {
    await env.protect('introspect', { client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['introspection'], scopes_required: ['kong_api_access'], upstream_introspection_header: 'x-introspection' });
  });

  test('an active token passes; the second request for it does not call the IdP', async () => {
    const t = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access' });
    const calls = env.idp.requestCount(INTROSPECT);
    const r1 = await env.call('/introspect', bearer(t));
    assert.equal(r1.status, 200, r1.text);
    const claims = JSON.parse(Buffer.from(r1.body.headers['x-introspection'], 'base64').toString()) as Record<string, unknown>;
    assert.equal(claims.active, true);
    const r2 = await env.call('/introspect', bearer(t));
    assert.equal(r2.status, 200);
    assert.equal(env.idp.requestCount(INTROSPECT), calls + 1);
  });

  test('an inactive token is a 401 ("inactive token"), remembered without asking again', async () => {
    const calls = env.idp.requestCount(INTROSPECT);
    const r = await env.call('/introspect', bearer('opaque-but-unknown-token'));
    assert.equal(r.status, 401);
    assert.ok(env.gw.logs.find('inactive token').length > 0);
    await env.call('/introspect', bearer('opaque-but-unknown-token'));
    assert.equal(env.idp.requestCount(INTROSPECT), calls + 1);
  });

  test('IdP unreachable: 500, not 401, the upstream is not reached, the failure is counted and logged once per burst', async () => {
    const tokens = await Promise.all([1, 2, 3].map(() => env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access' })));
    const before = await failures('introspection');
    const upstream = env.echo.requestCount();
    const logged = env.gw.logs.find('identity provider unavailable').length;
    await env.idp.setDown(true);
    try {
      for (const t of tokens) {
        const r = await env.call('/introspect', bearer(t));
        assert.equal(r.status, 500);
        assert.deepEqual(r.body, { message: 'An unexpected error occurred' });
      }
    } finally {
      await env.idp.setDown(false);
    }
    assert.equal(env.echo.requestCount(), upstream);
    assert.equal((await failures('introspection')) - before, 3);
    assert.equal(env.gw.logs.find('identity provider unavailable').length - logged, 1);
    // Recovered: the same tokens are accepted (failures were not cached as verdicts).
    assert.equal((await env.call('/introspect', bearer(tokens[0]!))).status, 200);
  });
});

describe('userinfo', () => {
  before(async () => {
    await env.protect('userinfo', { client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['userinfo'], upstream_user_info_header: 'x-userinfo' });
  });

  test('a token the userinfo endpoint accepts passes, cached; one it refuses is a 401', async () => {
    const t = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid profile email' });
    const calls = env.idp.requestCount(USERINFO);
    const r = await env.call('/userinfo', bearer(t));
    assert.equal(r.status, 200, r.text);
    const info = JSON.parse(Buffer.from(r.body.headers['x-userinfo'], 'base64').toString()) as Record<string, unknown>;
    assert.equal(info.preferred_username, 'Blog_with_scope');
    await env.call('/userinfo', bearer(t));
    assert.equal(env.idp.requestCount(USERINFO), calls + 1);
    assert.equal((await env.call('/userinfo', bearer('nope'))).status, 401);
  });
});

describe('keys', () => {
  before(async () => {
    await env.protect('keys', { auth_methods: ['bearer'], rediscovery_lifetime: 1 });
  });

  test('cached keys keep bearer tokens working while the IdP is down', async () => {
    const t1 = await env.idp.issueAccessToken({ username: 'Blog_with_scope' });
    const t2 = await env.idp.issueAccessToken({ username: 'Blog_without_scope' });
    assert.equal((await env.call('/keys', bearer(t1))).status, 200);
    await env.idp.setDown(true, 'refuse');
    try {
      assert.equal((await env.call('/keys', bearer(t1))).status, 200);
      assert.equal((await env.call('/keys', bearer(t2))).status, 200, 'a token never seen before, signed by a known key');
    } finally {
      await env.idp.setDown(false);
    }
  });

  test('after the IdP rotates its signing key, new tokens are accepted after one JWKS refetch, no restart', async () => {
    const old = await env.idp.issueAccessToken({ username: 'Blog_with_scope' });
    assert.equal((await env.call('/keys', bearer(old))).status, 200);
    await sleep(1100); // rediscovery_lifetime: the unknown-kid refetch cooldown
    await env.idp.rotateSigningKey();
    const fresh = await env.idp.issueAccessToken({ username: 'Blog_with_scope' });
    const certs = env.idp.requestCount(CERTS);
    assert.equal((await env.call('/keys', bearer(fresh))).status, 200);
    assert.equal(env.idp.requestCount(CERTS), certs + 1, 'exactly one refetch');
    assert.equal((await env.call('/keys', bearer(fresh))).status, 200);
    assert.equal(env.idp.requestCount(CERTS), certs + 1);
    assert.equal((await env.call('/keys', bearer(old))).status, 200, 'the old key is still published');
  });

  test('a flood of unknown kids does not make the gateway hammer the JWKS endpoint', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { SignJWT } = await import('jose');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const certs = env.idp.requestCount(CERTS);
    for (let i = 0; i < 10; i++) {
      const t = await new SignJWT({ iss: env.idp.issuer, sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 }).setProtectedHeader({ alg: 'RS256', kid: `k${i}` }).sign(privateKey);
      assert.equal((await env.call('/keys', bearer(t))).status, 401);
    }
    assert.ok(env.idp.requestCount(CERTS) - certs <= 1, 'at most one refetch within the cooldown');
  });
});

describe('discovery', () => {
  test('an IdP that is down when the route is configured does not break the gateway; it recovers by itself', async () => {
    const own = await startOidcEnv();
    try {
      await own.idp.setDown(true);
      await own.protect('late', { auth_methods: ['bearer'], rediscovery_lifetime: 1 });
      const t = await (async () => {
        await own.idp.setDown(false);
        const tok = await own.idp.issueAccessToken({ username: 'Blog_with_scope' });
        await own.idp.setDown(true);
        return tok;
      })();
      const down = await own.call('/late', bearer(t));
      assert.equal(down.status, 500);
      await own.idp.setDown(false);
      await sleep(1100);
      const up = await own.call('/late', bearer(t));
      assert.equal(up.status, 200, up.text);
    } finally {
      await own.close();
    }
  });

  test('GET /openid-connect/issuers shows the discovery document and keys; DELETE clears it and the next request rediscovers', async () => {
    await env.protect('admin-view', { auth_methods: ['bearer'] });
    const t = await env.idp.issueAccessToken({ username: 'Blog_with_scope' });
    assert.equal((await env.call('/admin-view', bearer(t))).status, 200);
    const list = await env.gw.admin('GET', '/openid-connect/issuers');
    assert.equal(list.status, 200);
    assert.equal(list.body.next, null);
    const rec = list.body.data.find((d: { issuer: string }) => d.issuer === env.idp.issuer);
    assert.ok(rec, JSON.stringify(list.body));
    assert.equal(rec.configuration.issuer, env.idp.issuer);
    assert.ok(rec.keys.length >= 1);
    assert.equal(rec.keys[0].d, undefined, 'never a private key member');
    const one = await env.gw.admin('GET', `/openid-connect/issuers/${rec.id}`);
    assert.equal(one.status, 200);
    assert.equal((await env.gw.admin('GET', '/openid-connect/issuers/nope')).status, 404);

    const discoveries = env.idp.requestCount(DISCOVERY);
    assert.equal((await env.gw.admin('DELETE', '/openid-connect/issuers')).status, 204);
    assert.equal((await env.gw.admin('GET', '/openid-connect/issuers')).body.data.length, 0);
    assert.equal((await env.call('/admin-view', bearer(t))).status, 200);
    assert.equal(env.idp.requestCount(DISCOVERY), discoveries + 1);
  });
});
