/**
 * POST /config and GET /config end to end over the SQLite store (Portcullis
 * accepts a whole-file replace on a database store too): every way a client
 * sends the file, the answer Kong gives, the round trip, and the guarantee
 * that an invalid file leaves the running configuration untouched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { entityUuid } from '../../src/store/declarative/index.ts';
import { startTestAdmin, type TestAdmin } from '../helpers/admin-api.ts';

const KONG_YML = `_format_version: "3.0"
_transform: true
services:
- name: orders
  url: http://orders.internal:8080
  tags: [shop]
  routes:
  - name: orders-api
    paths: [/orders]
    methods: [GET, POST]
    plugins:
    - name: cors
      config:
        origins: ["https://shop.example.com"]
  plugins:
  - name: correlation-id
    config:
      header_name: X-Request-ID
consumers:
- username: alice
  custom_id: alice-1
  plugins:
  - name: rate-limiting
    config:
      minute: 20
      policy: local
routes:
- name: top-level-route
  service: orders
  paths: [/top]
upstreams:
- name: orders-pool
  targets:
  - target: 10.0.0.1:8080
    weight: 100
`;

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

describe('POST /config on a database store', () => {
  it('loads a kong.yml sent as the `config` field and answers 201 with the entities by id', async () => {
    const res = await t.call('POST', '/config', { config: KONG_YML });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const ordersId = entityUuid('services', 'orders');
    assert.ok(res.body.services[ordersId]);
    assert.equal(res.body.services[ordersId].port, 8080);
    assert.equal(Object.keys(res.body.routes).length, 2);
    assert.equal(Object.keys(res.body.plugins).length, 3);
    assert.equal(Object.keys(res.body.targets).length, 1);
    assert.ok(t.replaced >= 1);
  });

  it('the loaded entities are served by the entity endpoints, relations resolved', async () => {
    const route = await t.call('GET', '/routes/top-level-route');
    assert.deepEqual(route.body.service, { id: entityUuid('services', 'orders') });
    const plugins = await t.call('GET', '/routes/orders-api/plugins');
    assert.equal(plugins.body.data[0].name, 'cors');
    assert.equal((await t.call('GET', '/consumers/alice/plugins')).body.data[0].config.minute, 20);
    assert.equal((await t.call('GET', '/upstreams/orders-pool/targets')).body.data[0].weight, 100);
  });

  it('an invalid file answers 400 code 14 and leaves everything as it was', async () => {
    const before = await t.call('GET', '/config?format=json');
    const res = await t.call('POST', '/config', {
      config: '_format_version: "3.0"\nservices:\n- name: half\n  host: h.internal\n  routes:\n  - name: bad-route\n    paths: [no-slash]\n',
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 14);
    assert.match(res.body.message, /^declarative config is invalid: \{services=\{\{routes=\{\{paths=/);
    assert.equal((await t.call('GET', '/services/half')).status, 404, 'the valid part of the file was not loaded either');
    assert.deepEqual((await t.call('GET', '/config?format=json')).body, before.body);
  });

  it('a raw YAML body is accepted', async () => {
    const res = await t.call('POST', '/config', '_format_version: "3.0"\nconsumers:\n- username: raw-yaml\n', { type: 'application/yaml' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((await t.call('GET', '/consumers/raw-yaml')).status, 200);
    assert.equal((await t.call('GET', '/services/orders')).status, 404, 'the whole configuration was replaced');
  });

  it('a JSON document with _format_version at the top is accepted', async () => {
    const res = await t.call('POST', '/config', { _format_version: '3.0', consumers: [{ username: 'json-doc' }] });
    assert.equal(res.status, 201);
    assert.equal((await t.call('GET', '/consumers/json-doc')).status, 200);
  });

  it('a file uploaded as multipart `config` (curl -F config=@kong.yml) is accepted', async () => {
    const form = new FormData();
    form.append('config', new Blob([KONG_YML], { type: 'application/x-yaml' }), 'kong.yml');
    const res = await t.call('POST', '/config', form);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((await t.call('GET', '/services/orders')).status, 200);
  });

  it('a form field `config` (httpie -f config=@kong.yml) is accepted', async () => {
    const res = await t.call('POST', '/config', new URLSearchParams({ config: '_format_version: "3.0"\nconsumers:\n- username: form-user\n' }));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((await t.call('GET', '/consumers/form-user')).status, 200);
  });
});

describe('GET /config', () => {
  it('exports the configuration as Kong does: {"config": "<yaml>"} with _format_version "3.0"', async () => {
    await t.call('POST', '/config', { config: KONG_YML });
    const res = await t.call('GET', '/config');
    assert.equal(res.status, 200);
    const doc = parseYaml(res.body.config) as Record<string, unknown>;
    assert.equal(doc._format_version, '3.0');
    assert.equal(doc._transform, false);
    const routes = doc.routes as Array<Record<string, unknown>>;
    assert.equal(routes.find((r) => r.name === 'top-level-route')!.service, entityUuid('services', 'orders'));
  });

  it('?format=yaml returns the YAML itself, ?format=json the document as JSON', async () => {
    const yaml = await t.call('GET', '/config?format=yaml');
    assert.match(yaml.headers.get('content-type')!, /yaml/);
    assert.match(yaml.text, /^_format_version: "3.0"/);
    const json = await t.call('GET', '/config?format=json');
    assert.equal(json.body._format_version, '3.0');
  });

  it('round trip: posting the export back changes nothing, ids included', async () => {
    const exported = (await t.call('GET', '/config')).body.config as string;
    const before = await t.call('GET', '/config?format=json');
    const res = await t.call('POST', '/config', { config: exported });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const after = await t.call('GET', '/config?format=json');
    assert.deepEqual(after.body, before.body);
  });

  it('loading the same file twice keeps every id (stable for clients holding ids)', async () => {
    await t.call('POST', '/config', { config: KONG_YML });
    const first = (await t.call('GET', '/routes')).body.data.map((r: { id: string }) => r.id).sort();
    await t.call('POST', '/config', { config: KONG_YML });
    const second = (await t.call('GET', '/routes')).body.data.map((r: { id: string }) => r.id).sort();
    assert.deepEqual(second, first);
  });
});
