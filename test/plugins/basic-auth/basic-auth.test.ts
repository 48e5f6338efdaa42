/**
 * basic-auth end to end through the proxy: a consumer with a credential
 * created over the Admin API (password hashed as Kong), then requests with
 * Authorization / Proxy-Authorization, Kong's 401 bodies and challenge,
 * hide_credentials, realm and anonymous.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';

let gw: TestGateway;
let echo: Echo;
let alice: { id: string };
let guest: { id: string };

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${gw.proxyUrl}${path}`, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body };
}

before(async () => {
  echo = await startEcho();
  gw = await startGateway();
  assert.equal((await gw.admin('POST', '/services', { name: 's', url: echo.url })).status, 201);
  assert.equal((await gw.admin('POST', '/services/s/routes', { name: 'plain', paths: ['/plain'] })).status, 201);
  assert.equal((await gw.admin('POST', '/services/s/routes', { name: 'hidden', paths: ['/hidden'] })).status, 201);
  assert.equal((await gw.admin('POST', '/services/s/routes', { name: 'anon', paths: ['/anon'] })).status, 201);
  alice = (await gw.admin('POST', '/consumers', { username: 'alice', custom_id: 'a-1' })).body;
  guest = (await gw.admin('POST', '/consumers', { username: 'guest' })).body;
  const cred = await gw.admin('POST', '/consumers/alice/basic-auth', { username: 'Aladdin', password: 'open: sesame' });
  assert.equal(cred.status, 201);
  assert.notEqual(cred.body.password, 'open: sesame');
  assert.equal((await gw.admin('POST', '/routes/plain/plugins', { name: 'basic-auth' })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/hidden/plugins', { name: 'basic-auth', config: { hide_credentials: true, realm: 'kong' } })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/anon/plugins', { name: 'basic-auth', config: { anonymous: 'guest' } })).status, 201);
  await gw.settle();
});

after(async () => {
  await gw.close();
  await echo.close();
});

describe('basic-auth', () => {
  it('schema defaults are Kong 3.x', async () => {
    const res = await gw.admin('POST', '/schemas/plugins/validate', { name: 'basic-auth' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const plugin = (await gw.admin('GET', '/routes/plain/plugins')).body.data[0];
    assert.deepEqual(plugin.config, { anonymous: null, hide_credentials: false, realm: 'service' });
    assert.equal((await gw.admin('POST', '/schemas/plugins/validate', { name: 'basic-auth', config: { nope: 1 } })).status, 400);
  });

  it('no credentials: 401 Unauthorized with the Basic challenge', async () => {
    const res = await get('/plain/x');
    assert.equal(res.status, 401);
    assert.equal(res.body.message, 'Unauthorized');
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="service"');
  });

  it('valid credentials reach the upstream with the consumer headers; the password may hold a colon', async () => {
    const res = await get('/plain/x', { authorization: basic('Aladdin', 'open: sesame'), 'x-consumer-username': 'mallory', 'x-anonymous-consumer': 'true' });
    assert.equal(res.status, 200);
    const reply = res.body as EchoReply;
    assert.equal(reply.headers['x-consumer-id'], alice.id);
    assert.equal(reply.headers['x-consumer-username'], 'alice');
    assert.equal(reply.headers['x-consumer-custom-id'], 'a-1');
    assert.equal(reply.headers['x-credential-identifier'], 'Aladdin');
    assert.equal(reply.headers['x-anonymous-consumer'], undefined);
    assert.ok(String(reply.headers.authorization).startsWith('Basic '), 'kept without hide_credentials');
  });

  it('the scheme is matched as Kong does (lower-case basic accepted)', async () => {
    const res = await get('/plain/x', { authorization: `basic ${Buffer.from('Aladdin:open: sesame').toString('base64')}` });
    assert.equal(res.status, 200);
  });

  for (const [what, value] of [
    ['a wrong password', basic('Aladdin', 'open sesame')],
    ['an unknown user', basic('nobody', 'open: sesame')],
    ['an empty password', basic('Aladdin', '')],
    ['no colon', `Basic ${Buffer.from('Aladdin').toString('base64')}`],
    ['an empty username', basic('', 'open: sesame')],
    ['not base64', 'Basic !!!not-base64'],
    ['another scheme', 'Bearer abc'],
  ] as const) {
    it(`${what}: 401 Unauthorized (Kong 3.6+)`, async () => {
      const res = await get('/plain/x', { authorization: value });
      assert.equal(res.status, 401);
      assert.equal(res.body.message, 'Unauthorized');
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="service"');
    });
  }

  it('Proxy-Authorization is read first, then Authorization', async () => {
    assert.equal((await get('/plain/x', { 'proxy-authorization': basic('Aladdin', 'open: sesame') })).status, 200);
    // unknown user in Proxy-Authorization: Authorization is tried
    assert.equal((await get('/plain/x', { 'proxy-authorization': basic('nobody', 'x'), authorization: basic('Aladdin', 'open: sesame') })).status, 200);
    // a known user with a wrong password in Proxy-Authorization is not rescued by Authorization (Kong)
    assert.equal((await get('/plain/x', { 'proxy-authorization': basic('Aladdin', 'bad'), authorization: basic('Aladdin', 'open: sesame') })).status, 401);
  });

  it('hide_credentials removes both headers upstream; realm is configurable', async () => {
    const res = await get('/hidden/x', { authorization: basic('Aladdin', 'open: sesame'), 'proxy-authorization': basic('nobody', 'x') });
    assert.equal(res.status, 200);
    const reply = res.body as EchoReply;
    assert.equal(reply.headers.authorization, undefined);
    assert.equal(reply.headers['proxy-authorization'], undefined);
    const denied = await get('/hidden/x');
    assert.equal(denied.headers.get('www-authenticate'), 'Basic realm="kong"');
  });

  it('anonymous: a failure proceeds as the anonymous consumer, a success as the real one', async () => {
    const anon = await get('/anon/x', { authorization: basic('Aladdin', 'wrong') });
    assert.equal(anon.status, 200);
    assert.equal((anon.body as EchoReply).headers['x-consumer-id'], guest.id);
    assert.equal((anon.body as EchoReply).headers['x-anonymous-consumer'], 'true');
    assert.equal((anon.body as EchoReply).headers['x-credential-identifier'], undefined);
    const real = await get('/anon/x', { authorization: basic('Aladdin', 'open: sesame') });
    assert.equal((real.body as EchoReply).headers['x-consumer-id'], alice.id);
  });

  it('a credential deleted over the Admin API stops working', async () => {
    const c = await gw.admin('POST', '/consumers/alice/basic-auth', { username: 'temp', password: 'p' });
    await gw.settle();
    assert.equal((await get('/plain/x', { authorization: basic('temp', 'p') })).status, 200);
    assert.equal((await gw.admin('DELETE', `/basic-auths/${c.body.id}`)).status, 204);
    await gw.settle();
    assert.equal((await get('/plain/x', { authorization: basic('temp', 'p') })).status, 401);
  });
});
