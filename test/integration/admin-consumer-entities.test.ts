/**
 * Issue 15 entities through the Admin API: acls, basic-auth, jwt, hmac-auth
 * credentials, consumer groups and memberships, key sets and keys, vaults —
 * Kong's endpoint names, natural keys, pagination, tags, cascade with the
 * consumer, and the export.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
let alice: { id: string };

before(async () => {
  gw = await startGateway({ logLevel: 'warn' });
  const r = await gw.admin('POST', '/consumers', { username: 'alice' });
  assert.equal(r.status, 201);
  alice = r.body;
});

after(async () => {
  await gw.close();
});

test('acls: nested create, lookup by group under the consumer, by id at the top, unique per consumer', async () => {
  let r = await gw.admin('POST', '/consumers/alice/acls', { group: 'gold', tags: ['t1'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['consumer', 'created_at', 'group', 'id', 'tags']);
  assert.deepEqual(r.body.consumer, { id: alice.id });
  const id = r.body.id;
  assert.equal((await gw.admin('GET', '/consumers/alice/acls/gold')).body.id, id);
  assert.equal((await gw.admin('GET', `/acls/${id}`)).body.group, 'gold');
  assert.equal((await gw.admin('GET', `/acls/${id}/consumer`)).body.username, 'alice');
  r = await gw.admin('POST', '/consumers/alice/acls', { group: 'gold' });
  assert.equal(r.status, 409);
  r = await gw.admin('PUT', '/consumers/alice/acls/silver', {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.group, 'silver');
  assert.equal((await gw.admin('GET', '/consumers/alice/acls/nope')).status, 404);
  r = await gw.admin('GET', '/acls?tags=t1');
  assert.deepEqual(r.body.data.map((a: { group: string }) => a.group), ['gold']);
  r = await gw.admin('GET', '/consumers/alice/acls?size=1');
  assert.equal(r.body.data.length, 1);
  assert.ok(r.body.offset);
  assert.equal((await gw.admin('DELETE', '/consumers/alice/acls/silver')).status, 204);
  assert.equal((await gw.admin('GET', '/consumers/alice/acls')).body.data.length, 1);
  r = await gw.admin('POST', '/acls', { consumer: { id: alice.id } });
  assert.equal(r.status, 400);
  assert.equal(r.body.fields.group, 'required field missing');
});

test('basic-auths: password stored as Kong does (sha1 of password..consumer_id, hex); by username', async () => {
  let r = await gw.admin('POST', '/consumers/alice/basic-auth', { username: 'alice-ba', password: 's3cret' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const expected = createHash('sha1').update(`s3cret${alice.id}`).digest('hex');
  assert.equal(r.body.password, expected);
  r = await gw.admin('PATCH', '/basic-auths/alice-ba', { tags: ['x'] });
  assert.equal(r.body.password, expected, 'a write without password keeps the hash');
  r = await gw.admin('PATCH', '/basic-auths/alice-ba', { password: 'other' });
  assert.equal(r.body.password, createHash('sha1').update(`other${alice.id}`).digest('hex'));
  assert.equal((await gw.admin('GET', '/consumers/alice/basic-auth/alice-ba')).status, 200);
  r = await gw.admin('POST', '/basic-auths', { consumer: { id: alice.id }, username: 'alice-ba', password: 'x' });
  assert.equal(r.status, 409);
});

test('jwts: key and secret generated, HS256 default, RS256 needs a valid rsa_public_key; by key', async () => {
  let r = await gw.admin('POST', '/consumers/alice/jwt', {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.key, /^[0-9a-f]{32}$/);
  assert.match(r.body.secret, /^[0-9a-f]{32}$/);
  assert.equal(r.body.algorithm, 'HS256');
  assert.equal(r.body.rsa_public_key, null);
  assert.equal((await gw.admin('GET', `/jwts/${r.body.key}`)).body.id, r.body.id);
  r = await gw.admin('POST', '/consumers/alice/jwt', { algorithm: 'RS256' });
  assert.equal(r.status, 400);
  assert.equal(r.body.fields.rsa_public_key, 'required field missing');
  r = await gw.admin('POST', '/consumers/alice/jwt', { algorithm: 'RS256', rsa_public_key: 'nope' });
  assert.equal(r.body.fields.rsa_public_key, 'invalid key');
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  r = await gw.admin('POST', '/consumers/alice/jwt', { key: 'iss-1', algorithm: 'RS256', rsa_public_key: publicKey.export({ type: 'spki', format: 'pem' }) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal((await gw.admin('GET', '/jwts/iss-1/consumer')).body.username, 'alice');
});

test('hmac-auths: secret generated, by username', async () => {
  const r = await gw.admin('POST', '/consumers/alice/hmac-auth', { username: 'alice-hmac' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.secret, /^[0-9a-f]{32}$/);
  assert.equal((await gw.admin('GET', '/hmac-auths/alice-hmac')).body.id, r.body.id);
});

test('consumer groups: membership from both sides', async () => {
  assert.equal((await gw.admin('POST', '/consumer_groups', { name: 'gold-tier' })).status, 201);
  await gw.admin('POST', '/consumers', { username: 'bob' });
  let r = await gw.admin('POST', '/consumer_groups/gold-tier/consumers', { consumer: ['alice', 'bob'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.consumer_group.name, 'gold-tier');
  assert.deepEqual(r.body.consumers.map((c: { username: string }) => c.username), ['alice', 'bob']);
  r = await gw.admin('GET', '/consumers/bob/consumer_groups');
  assert.deepEqual(r.body.data.map((g: { name: string }) => g.name), ['gold-tier']);
  assert.equal((await gw.admin('POST', '/consumer_groups/gold-tier/consumers', { consumer: 'bob' })).status, 409);
  assert.equal((await gw.admin('DELETE', '/consumers/bob/consumer_groups/gold-tier')).status, 204);
  assert.equal((await gw.admin('GET', '/consumers/bob/consumer_groups/gold-tier')).status, 404);
  assert.equal((await gw.admin('GET', '/consumer_groups/gold-tier/consumers/alice')).status, 200);
  r = await gw.admin('POST', '/consumers/bob/consumer_groups', { group: 'gold-tier' });
  assert.equal(r.status, 201);
  assert.equal(r.body.consumer.username, 'bob');
  assert.equal((await gw.admin('DELETE', '/consumers/bob')).status, 204);
  r = await gw.admin('GET', '/consumer_groups/gold-tier/consumers');
  assert.deepEqual(r.body.data.map((c: { username: string }) => c.username), ['alice']);
});

test('key sets and keys: JWK and PEM, nested under the set, checks as Kong', async () => {
  assert.equal((await gw.admin('POST', '/key-sets', { name: 'ks' })).status, 201);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1' };
  let r = await gw.admin('POST', '/key-sets/ks/keys', { name: 'k1', kid: 'k1', jwk: JSON.stringify(jwk) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', '/keys', { name: 'k2', kid: 'k2', set: { name: 'ks' }, pem: { private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), public_key: publicKey.export({ type: 'spki', format: 'pem' }) } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', '/keys', { kid: 'k3', jwk: JSON.stringify({ ...jwk, kid: 'other' }) });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body.fields['@entity'], ['kid in jwk.kid must be equal to keys.kid']);
  r = await gw.admin('POST', '/keys', { kid: 'k4' });
  assert.deepEqual(r.body.fields['@entity'], ["at least one of these fields must be non-empty: 'jwk', 'pem'"]);
  r = await gw.admin('POST', '/keys', { kid: 'k5', jwk: '{vault://env/my-jwk}' });
  assert.equal(r.status, 201, 'a reference is not validated as a JWK (Kong)');
  assert.equal((await gw.admin('GET', '/key-sets/ks/keys')).body.data.length, 2);
  assert.equal((await gw.admin('DELETE', '/key-sets/ks')).status, 204);
  assert.equal((await gw.admin('GET', '/keys/k1')).status, 404, 'keys cascade with their set');
});

test('vaults: prefix rules and installed vault names as Kong', async () => {
  let r = await gw.admin('POST', '/vaults', { prefix: 'my-env', name: 'env', config: { prefix: 'APP_' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal((await gw.admin('GET', '/vaults/my-env')).body.config.prefix, 'APP_');
  r = await gw.admin('POST', '/vaults', { prefix: 'x-vault', name: 'hcv' });
  assert.equal(r.body.fields.name, "vault 'hcv' is not installed");
  r = await gw.admin('POST', '/vaults', { prefix: 'env', name: 'env' });
  assert.equal(r.status, 400);
});

test('deleting a consumer deletes its acls and credentials; the export holds them', async () => {
  await gw.admin('POST', '/consumers', { username: 'carol' });
  await gw.admin('POST', '/consumers/carol/acls', { group: 'g' });
  await gw.admin('POST', '/consumers/carol/basic-auth', { username: 'carol-ba', password: 'p' });
  await gw.admin('POST', '/consumers/carol/jwt', { key: 'carol-jwt' });
  await gw.admin('POST', '/consumers/carol/hmac-auth', { username: 'carol-hmac' });
  const exported = await gw.admin('GET', '/config?format=json');
  assert.equal(exported.status, 200, JSON.stringify(exported.body));
  const text = JSON.stringify(exported.body);
  for (const s of ['carol-ba', 'carol-jwt', 'carol-hmac', 'acls', 'consumer_group_consumers', 'vaults']) assert.ok(text.includes(s), s);
  assert.equal((await gw.admin('DELETE', '/consumers/carol')).status, 204);
  assert.equal((await gw.admin('GET', '/basic-auths/carol-ba')).status, 404);
  assert.equal((await gw.admin('GET', '/jwts/carol-jwt')).status, 404);
  assert.equal((await gw.admin('GET', '/hmac-auths/carol-hmac')).status, 404);
  const acls = (await gw.admin('GET', '/acls')).body.data as Array<{ group: string }>;
  assert.ok(!acls.some((a) => a.group === 'g'));
});
