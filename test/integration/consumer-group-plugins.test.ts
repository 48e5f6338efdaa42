/**
 * Plugins scoped to a consumer group (Kong Gateway Enterprise's
 * `consumer_group` on the plugin entity, issue 17): the Admin API through the
 * group (`/consumer_groups/{group}/plugins`) and at the top, Kong's answers
 * for a plugin that cannot be scoped so and for an unknown group, the cascade
 * with the group, and which instance a caller gets by Kong's precedence.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startEcho, type Echo } from '../helpers/echo.ts';

let gw: TestGateway;
let echo: Echo;

before(async () => {
  echo = await startEcho();
  gw = await startGateway({ logLevel: 'warn' });
  assert.equal((await gw.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
  for (const name of ['gold', 'free']) assert.equal((await gw.admin('POST', '/consumer_groups', { name })).status, 201);
});

after(async () => {
  await gw?.close();
  await echo?.close();
});

/** Do not start a minute-window sequence in the last seconds of a minute (it would span two windows). */
async function awayFromMinuteEnd(needMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 50));
}

test('create, list, read, update and delete a plugin through its consumer group', async () => {
  const group = (await gw.admin('GET', '/consumer_groups/gold')).body as { id: string };
  let r = await gw.admin('POST', '/consumer_groups/gold/plugins', { name: 'rate-limiting', config: { minute: 7 } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const plugin = r.body as { id: string; consumer_group: unknown; consumer: unknown; route: unknown; service: unknown };
  assert.deepEqual(plugin.consumer_group, { id: group.id });
  assert.equal(plugin.consumer, null);
  assert.equal(plugin.route, null);

  r = await gw.admin('GET', '/consumer_groups/gold/plugins');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data.map((p: { id: string }) => p.id), [plugin.id]);
  assert.deepEqual((await gw.admin('GET', '/consumer_groups/free/plugins')).body.data, [], 'only the group’s own plugins');

  assert.deepEqual((await gw.admin('GET', `/plugins/${plugin.id}`)).body.consumer_group, { id: group.id });
  assert.equal((await gw.admin('GET', `/consumer_groups/gold/plugins/${plugin.id}`)).status, 200);
  assert.equal((await gw.admin('GET', `/consumer_groups/free/plugins/${plugin.id}`)).status, 404, 'not under another group');
  assert.equal((await gw.admin('GET', `/plugins/${plugin.id}/consumer_group`)).body.name, 'gold');

  r = await gw.admin('PATCH', `/consumer_groups/gold/plugins/${plugin.id}`, { config: { minute: 9 } });
  assert.equal(r.status, 200);
  assert.equal(r.body.config.minute, 9);
  assert.deepEqual(r.body.consumer_group, { id: group.id });

  // One instance of a plugin per scope, as for routes and consumers (Kong's cache_key).
  r = await gw.admin('POST', '/consumer_groups/gold/plugins', { name: 'rate-limiting', config: { minute: 1 } });
  assert.equal(r.status, 409);
  assert.equal(r.body.name, 'unique constraint violation');

  assert.equal((await gw.admin('DELETE', `/consumer_groups/gold/plugins/${plugin.id}`)).status, 204);
  assert.equal((await gw.admin('GET', `/plugins/${plugin.id}`)).status, 404);
});

test('top-level /plugins takes consumer_group by id or by name', async () => {
  const group = (await gw.admin('GET', '/consumer_groups/free')).body as { id: string };
  let r = await gw.admin('POST', '/plugins', { name: 'request-termination', consumer_group: { name: 'free' }, config: { status_code: 402 } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.consumer_group, { id: group.id });
  assert.equal((await gw.admin('DELETE', `/plugins/${r.body.id}`)).status, 204);
  r = await gw.admin('POST', '/plugins', { name: 'request-termination', consumer_group: { id: group.id } });
  assert.equal(r.status, 201);
  assert.equal((await gw.admin('DELETE', `/plugins/${r.body.id}`)).status, 204);
});

test('a plugin Kong cannot scope to a consumer group: 400 naming consumer_group, nothing stored', async () => {
  for (const name of ['acl', 'key-auth', 'cors', 'openid-connect', 'http-log']) {
    const config = name === 'acl' ? { allow: ['x'] } : name === 'openid-connect' ? { issuer: 'https://idp.example/' } : name === 'http-log' ? { http_endpoint: 'http://127.0.0.1:9/' } : {};
    const r = await gw.admin('POST', '/consumer_groups/gold/plugins', { name, config });
    assert.equal(r.status, 400, name);
    assert.equal(r.body.code, 2);
    assert.equal(r.body.name, 'schema violation');
    assert.equal(r.body.fields.consumer_group, 'value must be null', name);
    assert.match(r.body.message, /consumer_group: value must be null/);
  }
  assert.deepEqual((await gw.admin('GET', '/consumer_groups/gold/plugins')).body.data, []);
  // The plugin's schema says so (Kong's no_consumer_group: `eq = null`).
  const fields = (await gw.admin('GET', '/schemas/plugins/acl')).body.fields as Array<Record<string, { eq?: unknown }>>;
  assert.ok(fields.some((f) => f.consumer_group !== undefined && f.consumer_group.eq === null));
  const rl = (await gw.admin('GET', '/schemas/plugins/rate-limiting')).body.fields as Array<Record<string, unknown>>;
  assert.ok(!rl.some((f) => f.consumer_group !== undefined), 'rate-limiting may be scoped to a group');
});

test('consumer and consumer_group together are refused (Kong has no such scope)', async () => {
  assert.equal((await gw.admin('POST', '/consumers', { username: 'both' })).status, 201);
  const r = await gw.admin('POST', '/consumer_groups/gold/plugins', { name: 'rate-limiting', consumer: { name: 'both' }, config: { minute: 1 } });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.deepEqual(r.body.fields['@entity'], ["only one or none of these fields must be set: 'consumer', 'consumer_group'"]);
});

test('unknown consumer group: 404 through the group, 400 foreign key at the top', async () => {
  let r = await gw.admin('POST', '/consumer_groups/nope/plugins', { name: 'rate-limiting', config: { minute: 1 } });
  assert.equal(r.status, 404);
  assert.deepEqual(r.body, { message: 'Not found' });
  assert.equal((await gw.admin('GET', '/consumer_groups/nope/plugins')).status, 404);
  r = await gw.admin('POST', '/plugins', { name: 'rate-limiting', consumer_group: { id: '6b1c8a3e-5a32-4b2b-9a8c-0d0f2a1e7c11' }, config: { minute: 1 } });
  assert.equal(r.status, 400);
  assert.equal(r.body.name, 'foreign key violation');
});

test('deleting a consumer group deletes its plugins', async () => {
  assert.equal((await gw.admin('POST', '/consumer_groups', { name: 'doomed' })).status, 201);
  const p = (await gw.admin('POST', '/consumer_groups/doomed/plugins', { name: 'rate-limiting', config: { minute: 3 } })).body as { id: string };
  assert.equal((await gw.admin('DELETE', '/consumer_groups/doomed')).status, 204);
  assert.equal((await gw.admin('GET', `/plugins/${p.id}`)).status, 404);
});

test("precedence: a group's rate-limiting beats the route's (ConsumerGroup › Route), the route+service one beats the group's", async () => {
  // alice (gold) and bob (no group) call with key-auth; the route allows 50 a minute, gold 2.
  for (const username of ['alice', 'bob']) {
    assert.equal((await gw.admin('POST', '/consumers', { username })).status, 201);
    assert.equal((await gw.admin('POST', `/consumers/${username}/key-auth`, { key: `${username}-key` })).status, 201);
  }
  assert.equal((await gw.admin('POST', '/consumer_groups/gold/consumers', { consumer: 'alice' })).status, 201);
  assert.equal((await gw.admin('POST', '/routes', { name: 'prec', paths: ['/prec'], service: { name: 'svc' } })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/prec/plugins', { name: 'key-auth' })).status, 201);
  const routeLimit = (await gw.admin('POST', '/routes/prec/plugins', { name: 'rate-limiting', config: { minute: 50 } })).body as { id: string };
  assert.equal((await gw.admin('POST', '/consumer_groups/gold/plugins', { name: 'rate-limiting', config: { minute: 2 } })).status, 201);
  await gw.settle();
  await awayFromMinuteEnd(15_000);

  const call = (key: string) => fetch(`${gw.proxyUrl}/prec`, { headers: { apikey: key } });
  const alice: number[] = [];
  let last: Response | null = null;
  for (let i = 0; i < 3; i++) {
    last = await call('alice-key');
    alice.push(last.status);
    await last.arrayBuffer();
  }
  assert.deepEqual(alice, [200, 200, 429], 'the gold group’s limit (2) applies to alice');
  assert.equal(last!.headers.get('x-ratelimit-limit-minute'), '2');
  const bob = await call('bob-key');
  assert.equal(bob.status, 200, 'bob is in no group: the route’s limit');
  assert.equal(bob.headers.get('x-ratelimit-limit-minute'), '50');
  await bob.arrayBuffer();

  // A Route+Service instance outranks a group-only one: alice gets it (and its own counter).
  const route = (await gw.admin('GET', '/routes/prec')).body as { id: string };
  assert.equal((await gw.admin('DELETE', `/plugins/${routeLimit.id}`)).status, 204);
  const r = await gw.admin('POST', '/plugins', { name: 'rate-limiting', route: { id: route.id }, service: { name: 'svc' }, config: { minute: 40 } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await gw.settle();
  const again = await call('alice-key');
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('x-ratelimit-limit-minute'), '40', 'Route+Service › ConsumerGroup');
  await again.arrayBuffer();
});
