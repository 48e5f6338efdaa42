/**
 * Node information, schemas, tags, the admin token and the extension hook
 * plugins use to add Admin API endpoints.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { registerAdminRoute, unregisterAdminRoute } from '../../src/admin/index.ts';
import { startTestAdmin, TEST_PLUGIN, type TestAdmin } from '../helpers/admin-api.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin({
    info: {
      server: {
        connections_accepted: 7,
        connections_active: 2,
        connections_handled: 7,
        connections_reading: 0,
        connections_waiting: 1,
        connections_writing: 1,
        total_requests: 40,
      },
      proxyListeners: [{ host: '0.0.0.0', port: 8000 }],
      adminListeners: [{ host: '127.0.0.1', port: 8001 }],
    },
  });
});
after(async () => {
  await t.close();
});

describe('node information', () => {
  it('GET / has Kong’s keys: version, hostname, node_id, plugins, configuration', async () => {
    await t.call('POST', '/plugins', { name: TEST_PLUGIN });
    const res = await t.call('GET', '/');
    assert.equal(res.status, 200);
    // issue 11, item 3: `version` is the Kong release whose behaviour we match; ours is separate.
    assert.equal(res.body.version, '3.9.0');
    assert.equal(res.body.portcullis_version, '0.1.0-test');
    assert.equal(res.body.hostname, 'test-host');
    assert.equal(res.body.node_id, '11111111-2222-4333-8444-555555555555');
    assert.equal(typeof res.body.tagline, 'string');
    assert.deepEqual(Object.keys(res.body.plugins).sort(), ['available_on_server', 'enabled_in_cluster']);
    assert.ok(res.body.plugins.available_on_server['correlation-id']);
    assert.equal(typeof res.body.plugins.available_on_server['correlation-id'].priority, 'number');
    assert.deepEqual(res.body.plugins.enabled_in_cluster, [TEST_PLUGIN]);
    assert.equal(res.body.configuration.database, 'sqlite');
    assert.deepEqual(res.body.configuration.proxy_listen, ['0.0.0.0:8000']);
    assert.equal(res.body.configuration.proxy_listeners[0].port, 8000);
    assert.ok(!('lua_version' in res.body));
  });

  it('GET /status reports database reachability and connection counters', async () => {
    const res = await t.call('GET', '/status');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.database, { reachable: true });
    assert.equal(res.body.server.connections_accepted, 7);
    assert.equal(res.body.server.total_requests, 40);
    assert.ok(Array.isArray(res.body.memory.workers_lua_vms));
    assert.ok(!('configuration_hash' in res.body), 'only DB-less nodes report a configuration hash');
  });

  it('GET /status/ready is 200 when the store answers', async () => {
    const res = await t.call('GET', '/status/ready');
    assert.equal(res.status, 200);
  });

  it('GET /plugins/enabled lists the plugins this node can run', async () => {
    const res = await t.call('GET', '/plugins/enabled');
    assert.ok(res.body.enabled_plugins.includes('correlation-id'));
    assert.ok(res.body.enabled_plugins.includes(TEST_PLUGIN));
  });

  it('GET /endpoints lists the Admin API with {param} placeholders', async () => {
    const res = await t.call('GET', '/endpoints');
    assert.ok(res.body.data.includes('/services/{id}'));
    assert.ok(res.body.data.includes('/upstreams/{upstream}/targets'));
  });

  it('OPTIONS answers 204 with the allowed methods; HEAD answers like GET without a body', async () => {
    const options = await fetch(`${t.url}/services`, { method: 'OPTIONS' });
    assert.equal(options.status, 204);
    assert.equal(options.headers.get('allow'), 'GET, HEAD, OPTIONS, POST');
    const one = await fetch(`${t.url}/services/some-name`, { method: 'OPTIONS' });
    assert.equal(one.headers.get('allow'), 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT');
    const head = await fetch(`${t.url}/services`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('GET /services?tags= is 400 "invalid option (tags: cannot be null)", as Kong', async () => {
    const res = await t.call('GET', '/services?tags=');
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { code: 11, name: 'invalid options', message: 'invalid option (tags: cannot be null)', options: { tags: 'cannot be null' } });
  });
});

describe('schemas', () => {
  it('GET /schemas/{entity} serves the entity schema; an unknown one is 404 "No entity named …"', async () => {
    const res = await t.call('GET', '/schemas/services');
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body.fields));
    assert.ok(res.body.fields.some((f: Record<string, unknown>) => 'host' in f));
    const missing = await t.call('GET', '/schemas/unicorns');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { message: "No entity named 'unicorns'" });
  });

  it('GET /schemas/plugins/{name} serves a plugin schema; unknown is 404 "No plugin named …"', async () => {
    const res = await t.call('GET', '/schemas/plugins/correlation-id');
    assert.equal(res.status, 200);
    assert.ok(res.body.fields.some((f: Record<string, unknown>) => 'config' in f));
    const legacy = await t.call('GET', '/plugins/schema/correlation-id');
    assert.ok(legacy.body.fields.some((f: Record<string, unknown>) => 'header_name' in f));
    const missing = await t.call('GET', '/schemas/plugins/nope');
    assert.deepEqual(missing.body, { message: "No plugin named 'nope'" });
  });

  it('POST /schemas/{entity}/validate checks without storing', async () => {
    const ok = await t.call('POST', '/schemas/routes/validate', { paths: ['/v'] });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { message: 'schema validation successful' });
    const bad = await t.call('POST', '/schemas/routes/validate', { paths: 'nope' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 2);
    assert.equal((await t.call('GET', '/routes')).body.data.length, 0);
  });

  it('POST /schemas/plugins/validate checks a whole plugin entity', async () => {
    const ok = await t.call('POST', '/schemas/plugins/validate', { name: 'rate-limiting', config: { minute: 10 } });
    assert.equal(ok.status, 200);
    const bad = await t.call('POST', '/schemas/plugins/validate', { name: 'rate-limiting', config: { minute: 'ten' } });
    assert.equal(bad.status, 400);
    assert.ok('config' in bad.body.fields);
  });
});

describe('tags', () => {
  it('GET /tags lists every tagged entity; GET /tags/{tag} those with that tag', async () => {
    await t.call('PUT', '/services/tagged', { host: 't.internal', tags: ['blue', 'prod'] });
    await t.call('PUT', '/consumers/tagged-user', { tags: ['blue'] });
    const all = await t.call('GET', '/tags');
    assert.equal(all.status, 200);
    assert.ok(all.body.data.some((r: Record<string, unknown>) => r.entity_name === 'services' && r.tag === 'prod'));
    const blue = await t.call('GET', '/tags/blue');
    assert.deepEqual(blue.body.data.map((r: { entity_name: string }) => r.entity_name).sort(), ['consumers', 'services']);
    for (const row of blue.body.data) assert.deepEqual(Object.keys(row).sort(), ['entity_id', 'entity_name', 'tag']);
    const page = await t.call('GET', '/tags?size=1');
    assert.equal(page.body.data.length, 1);
    assert.match(page.body.next, /^\/tags\?offset=/);
    const following = await t.call('GET', page.body.next);
    assert.equal(following.status, 200);
    assert.notDeepEqual(following.body.data[0], page.body.data[0]);
  });
});

describe('extension endpoints', () => {
  it('a plugin can add an Admin API endpoint with registerAdminRoute, live at once', async () => {
    registerAdminRoute('GET', '/test-extension/items', () => ({ status: 200, body: { data: [], next: null } }));
    registerAdminRoute('DELETE', '/test-extension/items/:item', (req) => ({ status: 204, headers: { 'x-item': req.params.item! } }));
    try {
      const res = await t.call('GET', '/test-extension/items');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { data: [], next: null });
      const del = await t.call('DELETE', '/test-extension/items/abc');
      assert.equal(del.status, 204);
      assert.equal(del.headers.get('x-item'), 'abc');
      assert.equal((await t.call('POST', '/test-extension/items', {})).status, 405);
    } finally {
      unregisterAdminRoute('GET', '/test-extension/items');
      unregisterAdminRoute('DELETE', '/test-extension/items/:item');
    }
    assert.equal((await t.call('GET', '/test-extension/items')).status, 404);
  });

  it('an extension handler that throws is answered as a bare 500 and logged', async () => {
    registerAdminRoute('GET', '/boom', () => {
      throw new Error('secret internal detail');
    });
    try {
      const res = await t.call('GET', '/boom');
      assert.equal(res.status, 500);
      assert.deepEqual(res.body, { message: 'An unexpected error occurred' });
      assert.match(t.logs(), /secret internal detail/);
    } finally {
      unregisterAdminRoute('GET', '/boom');
    }
  });
});

describe('admin token', () => {
  it('with a token configured, requests without it are 401 and with it succeed', async () => {
    const guarded = await startTestAdmin({ adminToken: 's3cr3t-token' });
    try {
      const none = await guarded.call('GET', '/services');
      assert.equal(none.status, 401);
      assert.deepEqual(none.body, { message: 'Unauthorized' });
      assert.equal((await guarded.call('GET', '/services', undefined, { headers: { 'kong-admin-token': 'wrong' } })).status, 401);
      assert.equal((await guarded.call('GET', '/services', undefined, { headers: { 'kong-admin-token': 's3cr3t-token' } })).status, 200);
      assert.equal((await guarded.call('GET', '/', undefined, { headers: { authorization: 'Bearer s3cr3t-token' } })).status, 200);
      assert.equal((await guarded.call('POST', '/consumers', { username: 'x' })).status, 401, 'writes need the token too');
      assert.equal((await guarded.call('GET', '/consumers/x', undefined, { headers: { 'kong-admin-token': 's3cr3t-token' } })).status, 404);
      assert.doesNotMatch(guarded.logs(), /s3cr3t-token/, 'the token is never logged');
    } finally {
      await guarded.close();
    }
  });
});
