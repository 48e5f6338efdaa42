/**
 * DB-less mode (`database = off`): the Admin API reads the configuration
 * but refuses entity writes with Kong's 405 code 12 — after validating the
 * request, as Kong does — and POST /config is the way to change anything.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeclarative } from '../../src/store/declarative/index.ts';
import { startTestAdmin, type TestAdmin } from '../helpers/admin-api.ts';

const START = `_format_version: "3.0"
services:
- name: svc
  host: svc.internal
  routes:
  - name: rt
    paths: [/rt]
consumers:
- username: alice
`;

let t: TestAdmin;
before(async () => {
  const parsed = parseDeclarative(START);
  assert.ok(parsed.ok);
  t = await startTestAdmin({ dbless: true, snapshot: parsed.config });
});
after(async () => {
  await t.close();
});

function unsupported(op: string, entity: string, by?: string) {
  return {
    code: 12,
    name: 'operation unsupported',
    message: `cannot ${op} '${entity}' entities${by ? ` by '${by}'` : ''} when not using a database`,
  };
}

describe('DB-less reads', () => {
  it('entities loaded from the file are served', async () => {
    const svc = await t.call('GET', '/services/svc');
    assert.equal(svc.status, 200);
    assert.equal((await t.call('GET', '/services/svc/routes')).body.data.length, 1);
    assert.equal((await t.call('GET', '/routes/rt/service')).body.id, svc.body.id);
  });

  it('GET / reports database "off"', async () => {
    assert.equal((await t.call('GET', '/')).body.configuration.database, 'off');
  });
});

describe('DB-less writes are refused with Kong’s messages', () => {
  it('POST: "cannot create"', async () => {
    const res = await t.call('POST', '/services', { name: 'new', host: 'n.internal' });
    assert.equal(res.status, 405);
    assert.deepEqual(res.body, unsupported('create', 'services'));
    const nested = await t.call('POST', '/services/svc/routes', { paths: ['/x'] });
    assert.deepEqual(nested.body, unsupported('create', 'routes'));
  });

  it('PUT: "cannot create or update", by name when addressed by name', async () => {
    assert.deepEqual((await t.call('PUT', '/services/svc', { host: 'h.internal' })).body, unsupported('create or update', 'services', 'name'));
    const id = (await t.call('GET', '/services/svc')).body.id;
    assert.deepEqual((await t.call('PUT', `/services/${id}`, { host: 'h.internal' })).body, unsupported('create or update', 'services'));
  });

  it('PATCH: "cannot update"; a missing entity is still 404', async () => {
    const res = await t.call('PATCH', '/consumers/alice', { custom_id: 'x' });
    assert.equal(res.status, 405);
    assert.deepEqual(res.body, unsupported('update', 'consumers', 'username'));
    assert.equal((await t.call('PATCH', '/consumers/nobody', { custom_id: 'x' })).status, 404);
  });

  it('DELETE: "cannot remove"; a missing entity is still 204', async () => {
    const res = await t.call('DELETE', '/routes/rt');
    assert.equal(res.status, 405);
    assert.deepEqual(res.body, unsupported('remove', 'routes', 'name'));
    assert.equal((await t.call('DELETE', '/routes/nothing-here')).status, 204);
  });

  it('an invalid body is a schema violation before being refused, as in Kong', async () => {
    const res = await t.call('POST', '/services', { name: 'bad' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 2);
  });

  it('nothing changed', async () => {
    assert.equal((await t.call('GET', '/services')).body.data.length, 1);
    assert.equal((await t.call('GET', '/routes/rt')).status, 200);
    assert.equal((await t.call('GET', '/consumers/alice')).body.custom_id, null);
  });

  it('schema validation endpoints still work', async () => {
    assert.equal((await t.call('POST', '/schemas/services/validate', { host: 'v.internal' })).status, 200);
  });
});

describe('DB-less POST /config', () => {
  it('replaces the configuration; the configuration hash in /status follows it', async () => {
    const before = (await t.call('GET', '/status')).body.configuration_hash;
    assert.equal(typeof before, 'string');
    const file = '_format_version: "3.0"\nservices:\n- name: replaced\n  host: r.internal\n';
    const res = await t.call('POST', '/config', { config: file });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((await t.call('GET', '/services/svc')).status, 404);
    assert.equal((await t.call('GET', '/services/replaced')).status, 200);
    const after = (await t.call('GET', '/status')).body.configuration_hash;
    assert.notEqual(after, before);
    assert.match(after, /^[0-9a-f]{32}$/);
    assert.ok(t.replaced >= 1, 'the runtime was told to reload');

    const again = await t.call('POST', '/config?check_hash=1', { config: file });
    assert.equal(again.status, 304, 'the same file with check_hash=1 is not reloaded');
  });

  it('an invalid file is refused with code 14 and the running configuration stays', async () => {
    const res = await t.call('POST', '/config', { config: '_format_version: "3.0"\nservices:\n- name: broken\n' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 14);
    assert.equal(res.body.name, 'invalid declarative configuration');
    assert.equal((await t.call('GET', '/services/replaced')).status, 200);
    assert.equal((await t.call('GET', '/services/broken')).status, 404);
  });

  it('?flatten_errors=1 adds flattened_errors', async () => {
    const res = await t.call('POST', '/config?flatten_errors=1', {
      _format_version: '3.0',
      consumers: [{ username: 'c', tags: ['c-1'], colour: 'red' }],
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.flattened_errors, [
      {
        entity_tags: ['c-1'],
        entity_type: 'consumer',
        entity: { username: 'c', tags: ['c-1'], colour: 'red' },
        errors: [{ type: 'field', field: 'colour', message: 'unknown field' }],
      },
    ]);
    assert.deepEqual(res.body.fields, {});
  });

  it('POST /config without any configuration is 400 "expected a declarative configuration"', async () => {
    const res = await t.call('POST', '/config');
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { message: 'expected a declarative configuration' });
  });
});
