/**
 * Kong's ACL walkthrough (docs.konghq.com "acl" plugin: consumers, acls
 * groups, key-auth, the acl plugin with allow / deny, 403 "You cannot consume
 * this service"), through the Admin API and through kong.yml; groups come
 * from the consumers' stored `acls` (issue 15), and with
 * include_consumer_groups from consumer groups.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';

let echo: Echo;
before(async () => {
  echo = await startEcho();
});
after(async () => {
  await echo.close();
});

async function call(gw: TestGateway, path: string, key?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.proxyUrl}${path}`, { headers: key !== undefined ? { apikey: key } : {} });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

describe('through the Admin API', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ logLevel: 'warn' });
    const ok = (r: { status: number; body: unknown }, status = 201) => assert.equal(r.status, status, JSON.stringify(r.body));
    ok(await gw.admin('POST', '/services', { name: 'example-service', url: echo.url }));
    ok(await gw.admin('POST', '/services/example-service/routes', { name: 'allow-route', paths: ['/allow'] }));
    ok(await gw.admin('POST', '/services/example-service/routes', { name: 'deny-route', paths: ['/deny'] }));
    ok(await gw.admin('POST', '/services/example-service/plugins', { name: 'key-auth', config: { key_names: ['apikey'] } }));
    ok(await gw.admin('POST', '/routes/allow-route/plugins', { name: 'acl', config: { allow: ['gold'] } }));
    ok(await gw.admin('POST', '/routes/deny-route/plugins', { name: 'acl', config: { deny: ['gold'] } }));
    for (const [user, group] of [['alice', 'gold'], ['bob', 'silver']] as const) {
      ok(await gw.admin('POST', '/consumers', { username: user }));
      ok(await gw.admin('POST', `/consumers/${user}/acls`, { group }));
      ok(await gw.admin('POST', `/consumers/${user}/key-auth`, { key: `${user}-key` }));
    }
    await gw.settle();
  });
  after(async () => {
    await gw?.close();
  });

  it('allow: a member passes with X-Consumer-Groups, others get 403, no key 401', async () => {
    const a = await call(gw, '/allow', 'alice-key');
    assert.equal(a.status, 200);
    assert.equal((a.body as EchoReply).headers['x-consumer-groups'], 'gold');
    const b = await call(gw, '/allow', 'bob-key');
    assert.equal(b.status, 403);
    assert.equal(b.body.message, 'You cannot consume this service');
    assert.equal((await call(gw, '/allow')).status, 401);
  });

  it('deny: members are refused, others pass', async () => {
    assert.equal((await call(gw, '/deny', 'alice-key')).status, 403);
    const b = await call(gw, '/deny', 'bob-key');
    assert.equal(b.status, 200);
    assert.equal((b.body as EchoReply).headers['x-consumer-groups'], 'silver');
  });

  it('a group added or removed through the Admin API takes effect', async () => {
    assert.equal((await gw.admin('POST', '/consumers/bob/acls', { group: 'gold' })).status, 201);
    await gw.settle();
    const b = await call(gw, '/allow', 'bob-key');
    assert.equal(b.status, 200);
    // Both groups, in no particular order (Kong reads them from the database unordered; ours tie on created_at seconds).
    assert.deepEqual(String((b.body as EchoReply).headers['x-consumer-groups']).split(', ').sort(), ['gold', 'silver']);
    assert.equal((await gw.admin('DELETE', '/consumers/bob/acls/gold')).status, 204);
    await gw.settle();
    assert.equal((await call(gw, '/allow', 'bob-key')).status, 403);
  });

  it('include_consumer_groups: a consumer group name counts as a group', async () => {
    assert.equal((await gw.admin('POST', '/services/example-service/routes', { name: 'cg-route', paths: ['/cg'] })).status, 201);
    assert.equal((await gw.admin('POST', '/routes/cg-route/plugins', { name: 'acl', config: { allow: ['premium'], include_consumer_groups: true } })).status, 201);
    assert.equal((await gw.admin('POST', '/consumer_groups', { name: 'premium' })).status, 201);
    assert.equal((await gw.admin('POST', '/consumer_groups/premium/consumers', { consumer: 'bob' })).status, 201);
    await gw.settle();
    assert.equal((await call(gw, '/cg', 'bob-key')).status, 200);
    assert.equal((await call(gw, '/cg', 'alice-key')).status, 403);
  });
});

describe('through kong.yml (DB-less)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      logLevel: 'warn',
      declarative: `
_format_version: "3.0"
services:
- name: example-service
  url: ${echo.url}
  routes:
  - name: allow-route
    paths: [/allow]
    plugins:
    - name: acl
      config:
        allow: [gold]
  plugins:
  - name: key-auth
    config:
      key_names: [apikey]
consumers:
- username: alice
  acls:
  - group: gold
  keyauth_credentials:
  - key: alice-key
- username: bob
  acls:
  - group: silver
  keyauth_credentials:
  - key: bob-key
`,
    });
  });
  after(async () => {
    await gw?.close();
  });

  it('allow list decides by the consumers’ acls', async () => {
    const a = await call(gw, '/allow', 'alice-key');
    assert.equal(a.status, 200);
    assert.equal((a.body as EchoReply).headers['x-consumer-groups'], 'gold');
    const b = await call(gw, '/allow', 'bob-key');
    assert.equal(b.status, 403);
    assert.equal(b.body.message, 'You cannot consume this service');
    const acls = (await gw.admin('GET', '/consumers/alice/acls')).body.data;
    assert.deepEqual(acls.map((x: { group: string }) => x.group), ['gold']);
  });
});
