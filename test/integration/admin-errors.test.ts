/**
 * Every error the Admin API answers with, in Kong's exact shape
 * (kong/db/errors.lua codes and messages), and the promise behind them:
 * a refused request changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestAdmin, type TestAdmin } from '../helpers/admin-api.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
  await t.call('PUT', '/services/known', { host: 'known.internal' });
});
after(async () => {
  await t.close();
});

describe('routing errors', () => {
  it('an unknown path is 404 {"message":"Not found"}', async () => {
    const res = await t.call('GET', '/no/such/endpoint');
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { message: 'Not found' });
    assert.match(res.headers.get('content-type')!, /^application\/json/);
  });

  it('a method the path does not support is 405 {"message":"Method not allowed"}', async () => {
    const res = await t.call('PATCH', '/services', {});
    assert.equal(res.status, 405);
    assert.deepEqual(res.body, { message: 'Method not allowed' });
    assert.equal((await t.call('DELETE', '/plugins/enabled')).status, 405);
  });
});

describe('schema violations (code 2)', () => {
  it('one violation: "schema violation (field: message)" with fields', async () => {
    const res = await t.call('POST', '/services', { name: 'nohost' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      code: 2,
      name: 'schema violation',
      message: 'schema violation (host: required field missing)',
      fields: { host: 'required field missing' },
    });
  });

  it('several violations: "N schema violations (a; b)"', async () => {
    const res = await t.call('POST', '/services', { name: 'bad', host: 'x', port: 70000, retries: -1 });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /^2 schema violations \(/);
    assert.deepEqual(Object.keys(res.body.fields).sort(), ['port', 'retries']);
  });

  it('unknown fields are violations, not silently dropped', async () => {
    const res = await t.call('POST', '/consumers', { username: 'u', favourite_colour: 'blue' });
    assert.equal(res.status, 400);
    assert.equal(res.body.fields.favourite_colour, 'unknown field');
  });

  it('an unknown plugin names the missing plugin', async () => {
    const res = await t.call('POST', '/plugins', { name: 'no-such-plugin' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.fields, { name: "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property" });
  });
});

describe('conflicts and references', () => {
  it('a duplicate name is 409 code 5 with Kong’s message', async () => {
    const res = await t.call('POST', '/services', { name: 'known', host: 'dup.internal' });
    assert.equal(res.status, 409);
    assert.deepEqual(res.body, {
      code: 5,
      name: 'unique constraint violation',
      message: `UNIQUE violation detected on '{name="known"}'`,
      fields: { name: 'known' },
    });
  });

  it('a foreign key to a missing entity is 400 code 4', async () => {
    const id = '6c8e3e2d-0a51-4c7a-8a9a-2b3b8d1a1f11';
    const res = await t.call('POST', '/routes', { paths: ['/x'], service: { id } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      code: 4,
      name: 'foreign key violation',
      message: `the foreign key '{id="${id}"}' does not reference an existing 'services' entity.`,
      fields: { service: { id } },
    });
  });

  it('a foreign key by an unknown name is 400 code 13 (foreign keys unresolved)', async () => {
    const res = await t.call('POST', '/routes', { paths: ['/x'], service: { name: 'ghost' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      code: 13,
      name: 'foreign keys unresolved',
      message: `foreign key unresolved (service.name: the foreign key cannot be resolved with '{name="ghost"}' for an existing 'services' entity)`,
      fields: { service: { name: `the foreign key cannot be resolved with '{name="ghost"}' for an existing 'services' entity` } },
    });
  });

  it('nested creation under a missing parent is 404', async () => {
    assert.equal((await t.call('POST', '/services/ghost/routes', { paths: ['/x'] })).status, 404);
  });
});

describe('list parameters', () => {
  it('a size that is not a number is code 9 "size must be a number"', async () => {
    const res = await t.call('GET', '/services?size=lots');
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { code: 9, name: 'invalid size', message: 'size must be a number' });
  });

  it('a size outside 1..1000 is code 9', async () => {
    for (const size of ['0', '1001', '2.5']) {
      const res = await t.call('GET', `/services?size=${size}`);
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { code: 9, name: 'invalid size', message: 'size must be an integer between 1 and 1000' });
    }
  });

  it('an offset that is not ours is code 7', async () => {
    const res = await t.call('GET', '/services?offset=not-a-cursor');
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { code: 7, name: 'invalid offset', message: "'not-a-cursor' is not a valid offset: bad base64 encoding" });
  });

  it('an unparsable tags filter is code 11 with the detail under options', async () => {
    const res = await t.call('GET', `/services?tags=${encodeURIComponent('a,b/c')}`);
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      code: 11,
      name: 'invalid options',
      message: 'invalid option (tags: invalid filter syntax)',
      options: { tags: 'invalid filter syntax' },
    });
    const many = await t.call('GET', '/services?tags=a,b,c,d,e,f');
    assert.equal(many.body.options.tags, 'cannot query more than 5 tags');
  });
});

describe('a refused request changes nothing', () => {
  it('an invalid PUT leaves the stored entity as it was', async () => {
    const before = await t.call('GET', '/services/known');
    const res = await t.call('PUT', '/services/known', { host: 'ok.internal', port: -1 });
    assert.equal(res.status, 400);
    assert.deepEqual((await t.call('GET', '/services/known')).body, before.body);
  });

  it('an invalid PATCH leaves the stored entity as it was', async () => {
    const before = await t.call('GET', '/services/known');
    const res = await t.call('PATCH', '/services/known', { protocol: 'gopher' });
    assert.equal(res.status, 400);
    assert.deepEqual((await t.call('GET', '/services/known')).body, before.body);
  });

  it('a conflicting rename leaves both entities as they were', async () => {
    await t.call('PUT', '/services/second', { host: 'second.internal' });
    const res = await t.call('PATCH', '/services/second', { name: 'known' });
    assert.equal(res.status, 409);
    assert.equal((await t.call('GET', '/services/second')).status, 200);
  });

  it('an error never carries a stack trace or internal detail', async () => {
    const res = await t.call('POST', '/services', '{', { type: 'application/json' });
    assert.doesNotMatch(res.text, /at .*\.ts:\d+/);
    assert.doesNotMatch(res.text, /Error:/);
  });
});
