/**
 * key-auth credentials through the Admin API, as Kong's "Key authentication"
 * guide and its Admin API reference use them: /consumers/{consumer}/key-auth,
 * /key-auths, /key-auths/{id or key}, /key-auths/{id or key}/consumer,
 * unique keys (409), generated keys, ttl, cascade with the consumer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestAdmin, type TestAdmin } from '../helpers/admin-api.ts';
import { withClockAhead } from '../helpers/wait.ts';

let t: TestAdmin;
let luka: { id: string };
before(async () => {
  t = await startTestAdmin();
  luka = (await t.call('POST', '/consumers', { username: 'luka' })).body;
});
after(async () => {
  await t.close();
});

describe('key-auth credentials in the Admin API', () => {
  it('POST /consumers/{username}/key-auth with a key answers 201 with Kong\'s credential shape', async () => {
    const res = await t.call('POST', '/consumers/luka/key-auth', { key: 'top-secret-key' });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['consumer', 'created_at', 'id', 'key', 'tags', 'ttl']);
    assert.equal(res.body.key, 'top-secret-key');
    assert.deepEqual(res.body.consumer, { id: luka.id });
    assert.equal(res.body.ttl, null);
    assert.equal(res.body.tags, null);
    assert.equal(Number.isInteger(res.body.created_at), true);
    assert.match(res.body.id, /^[0-9a-f-]{36}$/);
  });

  it('POST without a key generates a random 32-character key', async () => {
    const a = await t.call('POST', `/consumers/${luka.id}/key-auth`);
    const b = await t.call('POST', '/consumers/luka/key-auth', {});
    assert.equal(a.status, 201);
    assert.match(a.body.key, /^[0-9a-f]{32}$/);
    assert.notEqual(a.body.key, b.body.key);
    await t.call('DELETE', `/key-auths/${a.body.id}`);
    await t.call('DELETE', `/key-auths/${b.body.id}`);
  });

  it('a key already in use is refused with 409 and Kong\'s unique violation', async () => {
    await t.call('POST', '/consumers', { username: 'other' });
    const res = await t.call('POST', '/consumers/other/key-auth', { key: 'top-secret-key' });
    assert.equal(res.status, 409);
    assert.equal(res.body.name, 'unique constraint violation');
    assert.equal(res.body.message, `UNIQUE violation detected on '{key="top-secret-key"}'`);
    assert.deepEqual(res.body.fields, { key: 'top-secret-key' });
  });

  it('a credential for an unknown consumer is 404', async () => {
    const res = await t.call('POST', '/consumers/nobody/key-auth', { key: 'k' });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { message: 'Not found' });
  });

  it('GET lists a consumer\'s keys, and /key-auths lists every key', async () => {
    const own = await t.call('GET', '/consumers/luka/key-auth');
    assert.equal(own.status, 200);
    assert.deepEqual(own.body.data.map((c: { key: string }) => c.key), ['top-secret-key']);
    assert.equal(own.body.next, null);
    const all = await t.call('GET', '/key-auths');
    assert.equal(all.status, 200);
    assert.ok(all.body.data.some((c: { key: string }) => c.key === 'top-secret-key'));
    assert.equal(all.body.data.every((c: Record<string, unknown>) => !('ttl_expires_at' in c)), true);
  });

  it('paging a consumer\'s keys links the next page under /consumers/{c}/key-auth', async () => {
    await t.call('POST', '/consumers/other/key-auth', { key: 'page-1' });
    await t.call('POST', '/consumers/other/key-auth', { key: 'page-2' });
    const res = await t.call('GET', '/consumers/other/key-auth?size=1');
    assert.equal(res.body.data.length, 1);
    assert.match(res.body.next, /^\/consumers\/other\/key-auth\?offset=/);
    const top = await t.call('GET', '/key-auths?size=1');
    assert.match(top.body.next, /^\/key-auths\?offset=/);
  });

  it('GET /key-auths/{key or id} and /consumers/{c}/key-auth/{key} find the credential; another consumer\'s is 404', async () => {
    const byKey = await t.call('GET', '/key-auths/top-secret-key');
    assert.equal(byKey.status, 200);
    const byId = await t.call('GET', `/key-auths/${byKey.body.id}`);
    assert.deepEqual(byId.body, byKey.body);
    assert.equal((await t.call('GET', '/consumers/luka/key-auth/top-secret-key')).status, 200);
    assert.equal((await t.call('GET', '/consumers/other/key-auth/top-secret-key')).status, 404);
    assert.equal((await t.call('GET', '/key-auths/no-such-key')).status, 404);
  });

  it('GET /key-auths/{key}/consumer answers the owning consumer', async () => {
    const res = await t.call('GET', '/key-auths/top-secret-key/consumer');
    assert.equal(res.status, 200);
    assert.equal(res.body.username, 'luka');
  });

  it('PATCH changes tags and the key; PUT by key creates or replaces', async () => {
    const patched = await t.call('PATCH', '/key-auths/top-secret-key', { tags: ['team-a'] });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.tags, ['team-a']);
    assert.equal(patched.body.key, 'top-secret-key');

    const put = await t.call('PUT', '/consumers/luka/key-auth/put-key', {});
    assert.equal(put.status, 200);
    assert.equal(put.body.key, 'put-key');
    assert.deepEqual(put.body.consumer, { id: luka.id });
    const putAgain = await t.call('PUT', '/key-auths/put-key', { consumer: { id: luka.id }, tags: ['x'] });
    assert.equal(putAgain.status, 200);
    assert.equal(putAgain.body.id, put.body.id);
    assert.deepEqual(putAgain.body.tags, ['x']);

    const renamed = await t.call('PATCH', `/key-auths/${put.body.id}`, { key: 'put-key-2' });
    assert.equal(renamed.body.key, 'put-key-2');
    assert.equal((await t.call('GET', '/key-auths/put-key')).status, 404);
  });

  it('a credential without a consumer is a schema violation', async () => {
    const res = await t.call('POST', '/key-auths', { key: 'lonely' });
    assert.equal(res.status, 400);
    assert.equal(res.body.name, 'schema violation');
    assert.equal(res.body.fields.consumer, 'required field missing');
  });

  it('DELETE removes a credential (204), also when it is already gone', async () => {
    assert.equal((await t.call('DELETE', '/key-auths/put-key-2')).status, 204);
    assert.equal((await t.call('DELETE', '/key-auths/put-key-2')).status, 204);
    assert.equal((await t.call('GET', '/key-auths/put-key-2')).status, 404);
  });

  it('ttl is served as the seconds left, and the key disappears once it runs out', async () => {
    const res = await t.call('POST', '/consumers/luka/key-auth', { key: 'short-lived', ttl: 1 });
    assert.equal(res.status, 201);
    assert.ok(res.body.ttl === 0 || res.body.ttl === 1, `ttl ${res.body.ttl}`);
    const long = await t.call('POST', '/consumers/luka/key-auth', { key: 'long-lived', ttl: 3600 });
    assert.equal(long.body.ttl, 3600, 'a fresh credential shows the ttl it was given');
    const patched = await t.call('PATCH', '/key-auths/long-lived', { tags: ['kept'] });
    assert.ok(patched.body.ttl > 3590 && patched.body.ttl <= 3600, 'a PATCH without ttl keeps the running expiry');
    // 1.1 s later by the gateway's clock (src/shared/clock.ts), without waiting for it.
    await withClockAhead(1100, async () => {
      assert.equal((await t.call('GET', '/key-auths/short-lived')).status, 404);
      const list = await t.call('GET', '/consumers/luka/key-auth');
      assert.equal(list.body.data.some((c: { key: string }) => c.key === 'short-lived'), false);
      // The key of an expired credential is free again.
      const again = await t.call('POST', '/consumers/other/key-auth', { key: 'short-lived' });
      assert.equal(again.status, 201);
      assert.equal(again.body.ttl, null);
    });
  });

  it('form input works as with curl --data: key, ttl and tags', async () => {
    const res = await t.call('POST', '/consumers/luka/key-auth', 'key=form-key&ttl=60&tags[]=cli', { type: 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 201);
    assert.equal(res.body.key, 'form-key');
    assert.equal(res.body.ttl, 60);
    assert.deepEqual(res.body.tags, ['cli']);
  });

  it('GET /schemas/keyauth_credentials describes the credential without internal fields', async () => {
    const res = await t.call('GET', '/schemas/keyauth_credentials');
    assert.equal(res.status, 200);
    const names = res.body.fields.map((f: Record<string, unknown>) => Object.keys(f)[0]);
    assert.deepEqual(names, ['id', 'created_at', 'consumer', 'key', 'ttl', 'tags']);
  });

  it("a ttl out of bounds is Kong's invalid option error (code 11)", async () => {
    for (const ttl of [-5, 1.5, 100_000_001, 'soon']) {
      const res = await t.call('POST', '/consumers/luka/key-auth', { key: 'bad-ttl', ttl });
      assert.equal(res.status, 400, `ttl ${ttl}`);
      assert.deepEqual(res.body, {
        code: 11,
        name: 'invalid options',
        message: 'invalid option (ttl: must be an integer between 0 and 100000000)',
        options: { ttl: 'must be an integer between 0 and 100000000' },
      });
    }
    assert.equal((await t.call('GET', '/key-auths/bad-ttl')).status, 404);
  });

  it('ttl 0 (what Kong Manager sends) is accepted and means no expiry; PATCH ttl 0 removes an expiry', async () => {
    const res = await t.call('POST', '/consumers/luka/key-auth', { key: 'km-key', ttl: 0 });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.ttl, null);
    const limited = await t.call('POST', '/consumers/luka/key-auth', { key: 'km-limited', ttl: 3600 });
    assert.equal(limited.body.ttl, 3600);
    const patched = await t.call('PATCH', `/key-auths/${limited.body.id}`, { ttl: 0 });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.ttl, null);
    assert.equal((await t.call('GET', '/key-auths/km-limited')).body.ttl, null);
  });

  it("deleting the consumer deletes its keys", async () => {
    await t.call('POST', '/consumers', { username: 'leaving' });
    await t.call('POST', '/consumers/leaving/key-auth', { key: 'leaving-key' });
    assert.equal((await t.call('DELETE', '/consumers/leaving')).status, 204);
    assert.equal((await t.call('GET', '/key-auths/leaving-key')).status, 404);
  });
});
