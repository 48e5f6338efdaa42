/**
 * Token exchange (RFC 8693, Kong's `token_exchange`): the caller's bearer
 * token is exchanged at the real demo IdP (its token-exchange grant) for a
 * token meant for the upstream; the upstream sees only the exchanged token;
 * the exchange is cached per node until the exchanged token expires; IdP
 * refusals are 401 and IdP outages 500, with 0 upstream hits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwtPayload, DEMO_PASSWORD, passwordGrant, startIdp, type Idp } from '../../helpers/idp.ts';
import { startClusterGateway } from '../../helpers/cluster-gateway.ts';
import { startOidcEnv, type OidcEnv } from './env.ts';

const TOKEN = '/protocol/openid-connect/token';
const bearer = (t: string): RequestInit => ({ headers: { authorization: `Bearer ${t}` } });

let env: OidcEnv;
let partner: Idp;
before(async () => {
  [env, partner] = await Promise.all([startOidcEnv(), startIdp({ realm: 'partner' })]);
  const client = { client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'] };
  await env.protect('te', {
    ...client,
    token_exchange: {
      subject_token_issuers: [{ issuer: env.idp.issuer, conditions: { missing_audience: ['orders-api'] } }, { issuer: partner.issuer }],
      request: { audience: ['orders-api'], scopes: ['openid', 'email'] },
    },
  });
  await env.protect('te-verify', {
    ...client,
    token_exchange: { subject_token_issuers: [{ issuer: partner.issuer, verify_signature: true }] },
  });
  await env.protect('te-verify-jwks', {
    ...client,
    token_exchange: { subject_token_issuers: [{ issuer: partner.issuer, verify_signature: true, jwks_uri: partner.endpoints.jwks }] },
  });
  await env.protect('te-nocache', {
    ...client,
    token_exchange: { subject_token_issuers: [{ issuer: env.idp.issuer }], request: { audience: ['billing'] }, cache: { enabled: false } },
  });
});
after(async () => {
  await env?.close();
  await partner?.close();
});

describe('token exchange (RFC 8693)', () => {
  test('the upstream receives the exchanged token (new audience, same user), not the caller\'s', async () => {
    const subject = (await passwordGrant(env.idp, 'Blog_with_scope', DEMO_PASSWORD, { scope: 'openid email profile' })).access_token;
    const calls = env.idp.requestCount(TOKEN);
    const r = await env.call('/te', bearer(subject));
    assert.equal(r.status, 200, r.text);
    const sent = (r.body.headers.authorization as string).slice('Bearer '.length);
    assert.notEqual(sent, subject);
    const claims = decodeJwtPayload(sent);
    assert.equal(claims.aud, 'orders-api');
    assert.equal(claims.sub, decodeJwtPayload(subject).sub);
    assert.equal(claims.azp, 'kong');
    assert.equal(env.idp.requestCount(TOKEN), calls + 1);
  });

  test('the exchange is cached per subject token: a second request does not reach the token endpoint', async () => {
    const subject = (await passwordGrant(env.idp, 'Blog_with_scope', DEMO_PASSWORD, { scope: 'openid email' })).access_token;
    const first = await env.call('/te', bearer(subject));
    assert.equal(first.status, 200, first.text);
    const calls = env.idp.requestCount(TOKEN);
    const second = await env.call('/te', bearer(subject));
    assert.equal(second.status, 200);
    assert.equal(env.idp.requestCount(TOKEN), calls);
    assert.equal(second.body.headers.authorization, first.body.headers.authorization);
    // Another subject token is another exchange.
    const other = (await passwordGrant(env.idp, 'Blog_with_scope', DEMO_PASSWORD, { scope: 'openid email' })).access_token;
    const before = env.idp.requestCount(TOKEN);
    assert.equal((await env.call('/te', bearer(other))).status, 200);
    assert.equal(env.idp.requestCount(TOKEN), before + 1);
  });

  test('cache.enabled=false exchanges on every request', async () => {
    const subject = (await passwordGrant(env.idp, 'Blog_with_scope', DEMO_PASSWORD)).access_token;
    const calls = env.idp.requestCount(TOKEN);
    for (let i = 0; i < 2; i++) {
      const r = await env.call('/te-nocache', bearer(subject));
      assert.equal(r.status, 200, r.text);
      assert.equal(decodeJwtPayload((r.body.headers.authorization as string).slice(7)).aud, 'billing');
    }
    assert.equal(env.idp.requestCount(TOKEN), calls + 2);
  });

  test('same issuer: conditions decide — a token already meant for orders-api passes unchanged', async () => {
    const subject = await env.idp.issueAccessToken({ username: 'Blog_with_scope', aud: 'orders-api' });
    const calls = env.idp.requestCount(TOKEN);
    const r = await env.call('/te', bearer(subject));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.headers.authorization, `Bearer ${subject}`);
    assert.equal(env.idp.requestCount(TOKEN), calls);
  });

  test('a forged token of our own issuer is refused before any exchange (401, 0 upstream hits)', async () => {
    const good = await env.idp.issueAccessToken({ username: 'Blog_with_scope' });
    const [h, p] = good.split('.');
    const forged = `${h}.${p}.${'A'.repeat(342)}`;
    const calls = env.idp.requestCount(TOKEN);
    const upstream = env.echo.requestCount();
    assert.equal((await env.call('/te', bearer(forged))).status, 401);
    assert.equal(env.idp.requestCount(TOKEN), calls);
    assert.equal(env.echo.requestCount(), upstream);
  });

  test('asking for more scope than the subject token holds: the IdP refuses (invalid_scope) → 401', async () => {
    const narrow = (await passwordGrant(env.idp, 'Blog_with_scope', DEMO_PASSWORD, { scope: 'openid' })).access_token;
    const upstream = env.echo.requestCount();
    assert.equal((await env.call('/te', bearer(narrow))).status, 401);
    assert.equal(env.echo.requestCount(), upstream);
  });

  test('another listed issuer: always exchanged; the IdP refusing the subject token is a 401 with 0 upstream hits', async () => {
    const foreign = (await passwordGrant(partner, 'Blog_with_scope', DEMO_PASSWORD)).access_token;
    const calls = env.idp.requestCount(TOKEN);
    const upstream = env.echo.requestCount();
    const r = await env.call('/te', bearer(foreign));
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    assert.equal(env.idp.requestCount(TOKEN), calls + 1, 'the exchange was asked for');
    assert.equal(env.echo.requestCount(), upstream);
  });

  for (const path of ['/te-verify', '/te-verify-jwks']) {
    test(`verify_signature (${path === '/te-verify' ? 'keys by discovery' : 'jwks_uri'}): forged and alg=none foreign tokens never reach the IdP; a genuine one is exchanged`, async () => {
      const genuine = (await passwordGrant(partner, 'Blog_with_scope', DEMO_PASSWORD)).access_token;
      const [h, p] = genuine.split('.');
      const forgedPayload = Buffer.from(JSON.stringify({ ...decodeJwtPayload(genuine), sub: 'someone-else' })).toString('base64url');
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
      const calls = env.idp.requestCount(TOKEN);
      const upstream = env.echo.requestCount();
      for (const hostile of [`${h}.${forgedPayload}.${genuine.split('.')[2]}`, none, `${h}.${p}.${'A'.repeat(342)}`]) {
        assert.equal((await env.call(path, bearer(hostile))).status, 401);
      }
      assert.equal(env.idp.requestCount(TOKEN), calls, 'no hostile token was sent to the IdP');
      // The genuine token passes the gateway's check and is sent; this IdP does not know it: 401.
      assert.equal((await env.call(path, bearer(genuine))).status, 401);
      assert.equal(env.idp.requestCount(TOKEN), calls + 1);
      assert.equal(env.echo.requestCount(), upstream);
    });
  }

  test('an expired token of a listed foreign issuer is refused without asking the IdP', async () => {
    const expired = await partner.issueAccessToken({ username: 'Blog_with_scope', expiresIn: -120 });
    const calls = env.idp.requestCount(TOKEN);
    assert.equal((await env.call('/te', bearer(expired))).status, 401);
    assert.equal(env.idp.requestCount(TOKEN), calls);
  });

  test('a token of an issuer that is not listed takes the normal bearer path (401: not our key)', async () => {
    const stranger = await startIdp({ realm: 'stranger' });
    try {
      const t = (await passwordGrant(stranger, 'Blog_with_scope', DEMO_PASSWORD)).access_token;
      const calls = env.idp.requestCount(TOKEN);
      assert.equal((await env.call('/te', bearer(t))).status, 401);
      assert.equal(env.idp.requestCount(TOKEN), calls);
    } finally {
      await stranger.close();
    }
  });

  test('the IdP down during an exchange: 500, not 401, and the upstream is not reached', async () => {
    const subject = await env.idp.issueAccessToken({ username: 'Blog_with_scope' });
    // Discovery and keys are held; only the token endpoint call fails.
    const upstream = env.echo.requestCount();
    await env.idp.setDown(true);
    try {
      const r = await env.call('/te', bearer(subject));
      assert.equal(r.status, 500);
    } finally {
      await env.idp.setDown(false);
    }
    assert.equal(env.echo.requestCount(), upstream);
  });

  test('token_exchange with an empty subject_token_issuers list is refused by the schema', async () => {
    const r = await env.gw.admin('POST', '/plugins', { name: 'openid-connect', config: { issuer: env.idp.issuer, token_exchange: { subject_token_issuers: [] } } });
    assert.equal(r.status, 400);
  });
});

describe('token exchange cache is per node (--workers 2)', () => {
  test('one subject token, requests spread over both workers: one exchange at the IdP', async () => {
    const node = await startClusterGateway({ workers: 2 });
    try {
      let r = await node.admin('POST', '/services', { name: 'te-node', url: `${env.echo.url}/anything` });
      assert.equal(r.status, 201);
      r = await node.admin('POST', '/services/te-node/routes', { name: 'te-node', paths: ['/te-node'] });
      assert.equal(r.status, 201);
      r = await node.admin('POST', '/routes/te-node/plugins', {
        name: 'openid-connect',
        config: {
          issuer: env.idp.issuer, client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'],
          token_exchange: { subject_token_issuers: [{ issuer: env.idp.issuer }], request: { audience: ['orders-api'] } },
        },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await node.waitWorkers(2);
      const subject = await env.idp.issueAccessToken({ username: 'Blog_with_scope' });
      const calls = env.idp.requestCount(TOKEN);
      const seen = new Set<string>();
      // Each get() is a new connection: the primary hands them to the workers in turn.
      for (let i = 0; i < 6; i++) {
        const res = await node.get('/te-node', { authorization: `Bearer ${subject}` });
        assert.equal(res.status, 200, res.body);
        seen.add(JSON.parse(res.body).headers.authorization as string);
      }
      assert.equal(seen.size, 1, 'every worker sent the same exchanged token');
      assert.equal(env.idp.requestCount(TOKEN), calls + 1);
    } finally {
      await node.close();
    }
  });
});
