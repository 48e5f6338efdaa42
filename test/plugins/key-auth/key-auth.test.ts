/**
 * key-auth end to end, as Kong's "Get started" guide (Key authentication)
 * walks through it: a consumer, its key, the plugin on a service, then
 * requests through the proxy with and without the key. Also hide_credentials,
 * anonymous consumers, ttl expiry, keys in the query and body, preflight, and
 * rate-limiting counted per authenticated consumer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import * as pdk from '../../../src/pdk/index.ts';
import { getPlugin, registerPlugin } from '../../../src/plugins/index.ts';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';
import { withClockAhead } from '../../helpers/wait.ts';

let gw: TestGateway;
let echo: Echo;
let luka: { id: string; username: string };
let lukaKey: { id: string };

async function get(path: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${gw.proxyUrl}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body };
}

/** A stand-in for a higher-priority authentication plugin (say openid-connect): `x-test-user: <username>` authenticates. */
function registerHeaderAuth(): void {
  if (getPlugin('test-header-auth')) return;
  registerPlugin({
    name: 'test-header-auth',
    version: '1.0.0',
    priority: 1300,
    schema: Type.Object({}),
    compile: () => null,
    access(ctx) {
      const username = pdk.request.getHeader(ctx, 'x-test-user');
      const consumer = username === undefined ? null : pdk.client.loadConsumer(ctx, 'username', username);
      if (consumer !== null) pdk.client.authenticate(ctx, consumer, { id: `header-${consumer.id}` });
    },
  });
}

before(async () => {
  registerHeaderAuth();
  echo = await startEcho();
  gw = await startGateway({ logLevel: 'debug' });
  assert.equal((await gw.admin('POST', '/services', { name: 'example_service', url: echo.url })).status, 201);
  assert.equal((await gw.admin('POST', '/services/example_service/routes', { name: 'example_route', paths: ['/mock'] })).status, 201);
  luka = (await gw.admin('POST', '/consumers', { username: 'luka' })).body;
  const key = await gw.admin('POST', '/consumers/luka/key-auth', { key: 'top-secret-key' });
  assert.equal(key.status, 201);
  lukaKey = key.body;
  assert.equal((await gw.admin('POST', '/services/example_service/plugins', { name: 'key-auth' })).status, 201);
  await gw.settle();
});

after(async () => {
  await gw.close();
  await echo.close();
});

describe('the Get started walkthrough', () => {
  it('a request with the key in the apikey header reaches the upstream, which learns the consumer', async () => {
    const res = await get('/mock/anything', { apikey: 'top-secret-key' });
    assert.equal(res.status, 200);
    const reply = res.body as EchoReply;
    assert.equal(reply.path, '/anything');
    assert.equal(reply.headers['x-consumer-id'], luka.id);
    assert.equal(reply.headers['x-consumer-username'], 'luka');
    assert.equal(reply.headers['x-credential-identifier'], lukaKey.id);
    assert.equal(reply.headers['x-anonymous-consumer'], undefined);
    assert.equal(reply.headers['x-consumer-custom-id'], undefined);
    assert.equal(reply.headers.apikey, 'top-secret-key', 'hide_credentials is off by default');
  });

  it('a request without a key is 401 "No API key found in request" with a Key challenge', async () => {
    const res = await get('/mock/anything');
    assert.equal(res.status, 401);
    assert.equal(res.body.message, 'No API key found in request');
    assert.equal(res.headers.get('www-authenticate'), 'Key realm="kong"');
  });

  it('a request with a wrong key is 401 "Invalid authentication credentials"', async () => {
    const res = await get('/mock/anything', { apikey: 'wrong' });
    assert.equal(res.status, 401);
    assert.equal(res.body.message, 'Invalid authentication credentials');
    assert.equal(res.headers.get('www-authenticate'), 'Key realm="kong"');
  });

  it('the key is accepted in the query string too', async () => {
    const res = await get('/mock/anything?apikey=top-secret-key&x=1');
    assert.equal(res.status, 200);
    assert.equal((res.body as EchoReply).args.apikey, 'top-secret-key');
    assert.equal((res.body as EchoReply).headers['x-consumer-username'], 'luka');
  });

  it('the same key given twice is 401 "Duplicate API key found"', async () => {
    const res = await get('/mock/anything?apikey=a&apikey=b');
    assert.equal(res.status, 401);
    assert.equal(res.body.message, 'Duplicate API key found');
  });

  it('identity headers sent by the client never reach the upstream as if authenticated', async () => {
    const res = await get('/mock/anything', {
      apikey: 'top-secret-key',
      'x-consumer-id': 'forged',
      'x-consumer-custom-id': 'forged',
      'x-consumer-username': 'admin',
      'x-credential-identifier': 'forged',
      'x-anonymous-consumer': 'forged',
    });
    const reply = res.body as EchoReply;
    assert.equal(reply.headers['x-consumer-id'], luka.id);
    assert.equal(reply.headers['x-consumer-username'], 'luka');
    assert.equal(reply.headers['x-credential-identifier'], lukaKey.id);
    assert.equal(reply.headers['x-consumer-custom-id'], undefined);
    assert.equal(reply.headers['x-anonymous-consumer'], undefined);
  });

  it('a generated key works as soon as it is created, and stops working once deleted', async () => {
    const created = await gw.admin('POST', '/consumers/luka/key-auth');
    assert.equal(created.status, 201);
    await gw.settle();
    assert.equal((await get('/mock/anything', { apikey: created.body.key })).status, 200);
    assert.equal((await gw.admin('DELETE', `/key-auths/${created.body.id}`)).status, 204);
    await gw.settle();
    assert.equal((await get('/mock/anything', { apikey: created.body.key })).status, 401);
  });

  it('the key is never written to the logs', () => {
    assert.equal(gw.logs.text().includes('top-secret-key'), false);
  });
});

describe('key-auth options', () => {
  before(async () => {
    await gw.admin('POST', '/services', { name: 'hidden', url: echo.url });
    await gw.admin('POST', '/services/hidden/routes', { paths: ['/hidden'] });
    await gw.admin('POST', '/services/hidden/plugins', {
      name: 'key-auth',
      config: { hide_credentials: true, key_in_body: true, key_names: ['apikey', 'X-Api-Key'], realm: 'example', run_on_preflight: false },
    });
    await gw.admin('POST', '/consumers', { username: 'anonymous-user' });
    await gw.admin('POST', '/services', { name: 'open', url: echo.url });
    await gw.admin('POST', '/services/open/routes', { paths: ['/open'] });
    await gw.admin('POST', '/services/open/plugins', { name: 'key-auth', config: { anonymous: 'anonymous-user' } });
    await gw.admin('POST', '/services', { name: 'broken-anon', url: echo.url });
    await gw.admin('POST', '/services/broken-anon/routes', { paths: ['/broken-anon'] });
    await gw.admin('POST', '/services/broken-anon/plugins', { name: 'key-auth', config: { anonymous: 'nobody-by-that-name' } });
    await gw.settle();
  });

  it('hide_credentials removes the key from the header and the query before the upstream sees it', async () => {
    const byHeader = await get('/hidden/a', { 'x-api-key': 'top-secret-key' });
    assert.equal(byHeader.status, 200);
    assert.equal((byHeader.body as EchoReply).headers['x-api-key'], undefined);
    assert.equal((byHeader.body as EchoReply).headers['x-consumer-username'], 'luka');
    const byQuery = await get('/hidden/a?keep=1&apikey=top-secret-key&also=2');
    assert.equal(byQuery.status, 200);
    assert.deepEqual((byQuery.body as EchoReply).args, { keep: '1', also: '2' });
  });

  it('with key_in_body the key is read from a form or JSON body and hidden from it', async () => {
    const form = await get('/hidden/a', { 'content-type': 'application/x-www-form-urlencoded' }, { method: 'POST', body: 'apikey=top-secret-key&name=x' });
    assert.equal(form.status, 200);
    assert.deepEqual((form.body as EchoReply).form, { name: 'x' });
    const json = await get('/hidden/a', { 'content-type': 'application/json' }, { method: 'POST', body: JSON.stringify({ apikey: 'top-secret-key', n: 1 }) });
    assert.equal(json.status, 200);
    assert.deepEqual((json.body as EchoReply).json, { n: 1 });
  });

  it('realm names the challenge', async () => {
    const res = await get('/hidden/a');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Key realm="example"');
  });

  it('run_on_preflight false lets OPTIONS through without a key', async () => {
    assert.equal((await get('/hidden/a', {}, { method: 'OPTIONS' })).status, 200);
    assert.equal((await get('/mock/a', {}, { method: 'OPTIONS' })).status, 401, 'the default authenticates preflight requests too');
  });

  it('anonymous: without a valid key the request proceeds as the anonymous consumer', async () => {
    const res = await get('/open/a', { apikey: 'wrong' });
    assert.equal(res.status, 200);
    const reply = res.body as EchoReply;
    assert.equal(reply.headers['x-consumer-username'], 'anonymous-user');
    assert.equal(reply.headers['x-anonymous-consumer'], 'true');
    assert.equal(reply.headers['x-credential-identifier'], undefined);
    const authed = await get('/open/a', { apikey: 'top-secret-key' });
    assert.equal((authed.body as EchoReply).headers['x-consumer-username'], 'luka');
    assert.equal((authed.body as EchoReply).headers['x-anonymous-consumer'], undefined);
  });

  it('with anonymous, a credential from a higher-priority auth plugin is enough (logical OR)', async () => {
    await gw.admin('POST', '/services', { name: 'either', url: echo.url });
    await gw.admin('POST', '/services/either/routes', { paths: ['/either'] });
    await gw.admin('POST', '/services/either/plugins', { name: 'test-header-auth' });
    await gw.admin('POST', '/services/either/plugins', { name: 'key-auth', config: { anonymous: 'anonymous-user' } });
    await gw.admin('POST', '/services', { name: 'both', url: echo.url });
    await gw.admin('POST', '/services/both/routes', { paths: ['/both'] });
    await gw.admin('POST', '/services/both/plugins', { name: 'test-header-auth' });
    await gw.admin('POST', '/services/both/plugins', { name: 'key-auth' });
    await gw.settle();
    const either = await get('/either/a', { 'x-test-user': 'luka' });
    assert.equal(either.status, 200);
    assert.equal((either.body as EchoReply).headers['x-anonymous-consumer'], undefined);
    const byKey = await get('/either/a', { apikey: 'top-secret-key' });
    assert.equal((byKey.body as EchoReply).headers['x-consumer-username'], 'luka');
    const neither = await get('/either/a');
    assert.equal((neither.body as EchoReply).headers['x-consumer-username'], 'anonymous-user');
    // without anonymous, key-auth still requires its own key (logical AND)
    assert.equal((await get('/both/a', { 'x-test-user': 'luka' })).status, 401);
  });

  it('an anonymous consumer that does not exist is a 500', async () => {
    const res = await get('/broken-anon/a');
    assert.equal(res.status, 500);
    assert.equal(res.body.message, "anonymous consumer nobody-by-that-name is configured but doesn't exist");
  });
});

describe('key-auth with ttl and with rate limiting', () => {
  it('a key with a ttl stops working when the ttl runs out', async () => {
    const created = await gw.admin('POST', '/consumers/luka/key-auth', { key: 'short-lived-key', ttl: 1 });
    assert.equal(created.status, 201);
    await gw.settle();
    assert.equal((await get('/mock/anything', { apikey: 'short-lived-key' })).status, 200);
    // 1.1 s later by the gateway's clock (src/shared/clock.ts), without waiting for it.
    const res = await withClockAhead(1100, () => get('/mock/anything', { apikey: 'short-lived-key' }));
    assert.equal(res.status, 401);
    assert.equal(res.body.message, 'Invalid authentication credentials');
  });

  it('rate-limiting after key-auth counts each consumer separately', async () => {
    await gw.admin('POST', '/services', { name: 'limited', url: echo.url });
    await gw.admin('POST', '/services/limited/routes', { paths: ['/limited'] });
    await gw.admin('POST', '/services/limited/plugins', { name: 'key-auth' });
    await gw.admin('POST', '/services/limited/plugins', { name: 'rate-limiting', config: { minute: 2, policy: 'local', limit_by: 'consumer' } });
    await gw.admin('POST', '/consumers', { username: 'ana' });
    await gw.admin('POST', '/consumers/ana/key-auth', { key: 'ana-key' });
    await gw.settle();
    assert.equal((await get('/limited/x', { apikey: 'top-secret-key' })).status, 200);
    assert.equal((await get('/limited/x', { apikey: 'top-secret-key' })).status, 200);
    const third = await get('/limited/x', { apikey: 'top-secret-key' });
    assert.equal(third.status, 429);
    const ana = await get('/limited/x', { apikey: 'ana-key' });
    assert.equal(ana.status, 200, "another consumer's requests have their own count");
    assert.equal(ana.headers.get('x-ratelimit-remaining-minute'), '1');
  });
});
