/**
 * Grants the gateway runs for the caller: password (the caller's user
 * credentials, the gateway's client), client credentials (the caller's own
 * client id and secret, relayed to the IdP) and refresh_token (a refresh
 * token the caller presents). The upstream gets the resulting access token,
 * the credentials are removed from the request, and repeated logins are
 * served from the token cache.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { passwordGrant as idpPasswordGrant, decodeJwtPayload, DEMO_PASSWORD } from '../../helpers/idp.ts';
import { basic, startOidcEnv, type OidcEnv } from './env.ts';

const TOKEN = '/protocol/openid-connect/token';

let env: OidcEnv;
before(async () => {
  env = await startOidcEnv();
  const client = { client_id: ['kong'], client_secret: ['kong-secret'] };
  await env.protect('password', { ...client, auth_methods: ['password'], scopes: ['openid', 'kong_api_access'], scopes_required: ['kong_api_access'] });
  await env.protect('cc', { ...client, auth_methods: ['client_credentials'] });
  await env.protect('both', { ...client, auth_methods: ['password', 'client_credentials'], session_storage: 'cookie' });
  await env.protect('refresh', { ...client, auth_methods: ['refresh_token'], refresh_token_param_name: 'refresh_token' });
  await env.protect('post-auth', { ...client, auth_methods: ['password'], client_auth: ['client_secret_post'] });
  await env.protect('jwt-auth', {
    client_id: ['kong-jwt'],
    client_auth: ['private_key_jwt'],
    client_jwk: [env.idp.testClients.privateKeyJwt.privateJwk],
    auth_methods: ['password'],
  });
});
after(() => env?.close());

describe('password grant', () => {
  test('Basic user:password becomes an access token for the upstream; the password is not forwarded', async () => {
    const r = await env.call('/password', { headers: { authorization: basic('Blog_with_scope', DEMO_PASSWORD) } });
    assert.equal(r.status, 200, r.text);
    const auth = r.body.headers.authorization as string;
    assert.match(auth, /^Bearer ey/);
    assert.equal(decodeJwtPayload(auth.slice(7)).preferred_username, 'Blog_with_scope');
  });

  test('username/password form arguments work too and are removed from the body', async () => {
    const r = await env.call('/password', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=Blog_with_scope&password=${DEMO_PASSWORD}&other=1`,
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.form, { other: '1' });
  });

  test('a wrong password is a 401; a user without the scope is a 403', async () => {
    assert.equal((await env.call('/password', { headers: { authorization: basic('Blog_with_scope', 'wrong') } })).status, 401);
    assert.equal((await env.call('/password', { headers: { authorization: basic('Blog_without_scope', DEMO_PASSWORD) } })).status, 403);
  });

  test('a repeated login is served from the token cache', async () => {
    const h = { headers: { authorization: basic('Blog_with_scope', DEMO_PASSWORD) } };
    await env.call('/password', h);
    const calls = env.idp.requestCount(TOKEN);
    await env.call('/password', h);
    await env.call('/password', h);
    assert.equal(env.idp.requestCount(TOKEN), calls);
  });

  test('client_secret_post and private_key_jwt client authentication', async () => {
    assert.equal((await env.call('/post-auth', { headers: { authorization: basic('Blog_with_scope', DEMO_PASSWORD) } })).status, 200);
    const r = await env.call('/jwt-auth', { headers: { authorization: basic('Blog_with_scope', DEMO_PASSWORD) } });
    assert.equal(r.status, 200, r.text);
  });
});

describe('client credentials grant', () => {
  test("the caller's own client credentials are relayed; the upstream sees the client's token", async () => {
    const r = await env.call('/cc', { headers: { authorization: basic('service-client', 'service-secret') } });
    assert.equal(r.status, 200, r.text);
    const payload = decodeJwtPayload((r.body.headers.authorization as string).slice(7));
    assert.equal(payload.azp ?? payload.client_id, 'service-client');
  });

  test('wrong client secret: 401', async () => {
    assert.equal((await env.call('/cc', { headers: { authorization: basic('service-client', 'nope') } })).status, 401);
  });

  test('with both grants enabled, client credentials that are not a user still work (password tried first)', async () => {
    const r = await env.call('/both', { headers: { authorization: basic('service-client', 'service-secret') } });
    assert.equal(r.status, 200, r.text);
  });
});

describe('refresh token presented by the caller', () => {
  test('a refresh token in the configured parameter yields a fresh access token upstream', async () => {
    const tokens = await idpPasswordGrant(env.idp, 'Blog_with_scope', DEMO_PASSWORD, { scope: 'openid offline_access' });
    assert.ok(tokens.refresh_token);
    const r = await env.call(`/refresh?refresh_token=${encodeURIComponent(tokens.refresh_token!)}`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.body.headers.authorization as string, /^Bearer ey/);
    assert.deepEqual(r.body.args, {}, 'the refresh token is not forwarded');
    assert.equal((await env.call('/refresh?refresh_token=garbage')).status, 401);
  });
});
