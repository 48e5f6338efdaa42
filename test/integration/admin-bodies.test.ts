/**
 * Request bodies as Kong's Admin API accepts them: JSON, form-urlencoded
 * (curl --data, httpie -f) with dotted keys and array notations, and
 * multipart/form-data (curl -F). Form values arrive as strings; the entity
 * schema decides what they become.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestAdmin, TEST_PLUGIN, type TestAdmin } from '../helpers/admin-api.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
  await t.call('PUT', '/services/x', { host: 'x.internal' });
});
after(async () => {
  await t.close();
});

const FORM = 'application/x-www-form-urlencoded';

describe('form-urlencoded bodies', () => {
  it('httpie `http -f POST :8001/services/x/routes name=r paths=/oidc` gives paths ["/oidc"]', async () => {
    const res = await t.call('POST', '/services/x/routes', 'name=r&paths=%2Foidc', { type: FORM });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.paths, ['/oidc']);
    assert.equal(res.body.name, 'r');
  });

  it('a repeated key, key[] and key[n] all make arrays', async () => {
    const repeated = await t.call('POST', '/routes', 'name=rep&paths=/a&paths=/b', { type: FORM });
    assert.deepEqual(repeated.body.paths, ['/a', '/b']);
    const brackets = await t.call('POST', '/routes', 'name=brk&paths[]=/c&paths[]=/d', { type: FORM });
    assert.deepEqual(brackets.body.paths, ['/c', '/d']);
    const indexed = await t.call('POST', '/routes', 'name=idx&paths[2]=/f&paths[1]=/e', { type: FORM });
    assert.deepEqual(indexed.body.paths, ['/e', '/f']);
  });

  it('numbers and booleans are converted by the schema', async () => {
    const res = await t.call('POST', '/services', 'name=typed&host=t.internal&port=8081&retries=0&enabled=false', { type: FORM });
    assert.equal(res.status, 201);
    assert.equal(res.body.port, 8081);
    assert.equal(res.body.retries, 0);
    assert.equal(res.body.enabled, false);
  });

  it('dotted keys build nested plugin config (config.x=…), arrays and nested records included', async () => {
    const body = `name=${TEST_PLUGIN}&config.count=7&config.names=a&config.names=b&config.enabled_flag=true&config.nested.depth=9&service.name=x`;
    const res = await t.call('POST', '/plugins', body, { type: FORM });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.config, { count: 7, names: ['a', 'b'], enabled_flag: true, nested: { depth: 9, label: null } });
    assert.equal(res.body.service.id, (await t.call('GET', '/services/x')).body.id);
  });

  it('a real plugin configured by form: rate-limiting config.minute=5', async () => {
    const res = await t.call('POST', '/services/x/plugins', 'name=rate-limiting&config.minute=5&config.policy=local', { type: FORM });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.config.minute, 5);
  });

  it('an empty form value means null (unset)', async () => {
    await t.call('PUT', '/consumers/nullable', { custom_id: 'c-1' });
    const res = await t.call('PATCH', '/consumers/nullable', 'custom_id=', { type: FORM });
    assert.equal(res.status, 200);
    assert.equal(res.body.custom_id, null);
  });

  it('a wrongly typed form value is a schema violation', async () => {
    const res = await t.call('POST', '/services', 'name=bad&host=b.internal&port=abc', { type: FORM });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 2);
    assert.ok('port' in res.body.fields);
  });
});

describe('multipart/form-data bodies', () => {
  it('fields and dotted keys work as with form-urlencoded (curl -F)', async () => {
    const form = new FormData();
    form.append('name', 'multi');
    form.append('paths[]', '/m1');
    form.append('paths[]', '/m2');
    form.append('methods', 'GET');
    const res = await t.call('POST', '/services/x/routes', form);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.paths, ['/m1', '/m2']);
    assert.deepEqual(res.body.methods, ['GET']);
  });

  it('plugin config by multipart', async () => {
    const form = new FormData();
    form.append('name', TEST_PLUGIN);
    form.append('config.count', '4');
    form.append('consumer.username', 'nullable');
    const res = await t.call('POST', '/plugins', form);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.config.count, 4);
  });
});

describe('JSON bodies', () => {
  it('JSON values are taken as typed: no form coercion', async () => {
    const res = await t.call('POST', '/services', { name: 'json-typed', host: 'j.internal', port: '8080' });
    assert.equal(res.status, 400, 'a string port is not coerced in JSON');
    assert.equal(res.body.code, 2);
  });

  it('content type with charset is accepted', async () => {
    const res = await t.call('POST', '/consumers', JSON.stringify({ username: 'charset' }), { type: 'application/json; charset=utf-8' });
    assert.equal(res.status, 201);
  });

  it('a body that does not parse is 400 "Cannot parse JSON body"', async () => {
    const res = await t.call('POST', '/services', '{"name": ', { type: 'application/json' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { message: 'Cannot parse JSON body' });
  });

  it('a body of another media type is 415', async () => {
    const res = await t.call('POST', '/services', '<service/>', { type: 'application/xml' });
    assert.equal(res.status, 415);
    assert.deepEqual(res.body, { message: 'Unsupported Media Type' });
  });

  it('POST with no body at all validates an empty entity', async () => {
    const res = await t.call('POST', '/services');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 2);
    assert.deepEqual(res.body.fields, { host: 'required field missing' });
  });
});

describe('body size limit', () => {
  it('a body larger than the limit is refused with 413 and nothing is written', async () => {
    const small = await startTestAdmin({ maxBodyBytes: 1024 });
    try {
      const res = await small.call('POST', '/consumers', { username: 'big', tags: ['x'.repeat(2000)] });
      assert.equal(res.status, 413);
      assert.deepEqual(res.body, { message: 'Request size limit exceeded' });
      assert.equal((await small.call('GET', '/consumers/big')).status, 404);
    } finally {
      await small.close();
    }
  });
});
