/** kong.yml with issue-15 entities: nested under consumers, top-level references, basic-auth hashing and _transform. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseDeclarative } from '../../../../src/store/declarative/parse.ts';
import { exportDeclarative } from '../../../../src/store/declarative/export.ts';

const FILE = `
_format_version: "3.0"
vaults:
- prefix: app-env
  name: env
consumer_groups:
- name: gold
consumers:
- username: alice
  acls:
  - group: admins
  basicauth_credentials:
  - username: alice-ba
    password: pw
  jwt_secrets:
  - key: alice-iss
  hmacauth_credentials:
  - username: alice-hmac
consumer_group_consumers:
- consumer: alice
  consumer_group: gold
key_sets:
- name: ks
keys:
- name: k1
  kid: k1
  set: ks
  jwk: "{vault://app-env/jwk}"
`;

test('loads nested credentials, memberships and keys; hashes basic-auth passwords as Kong', () => {
  const r = parseDeclarative(FILE);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.fields));
  const alice = r.config.consumers[0]!;
  assert.equal(r.config.acls[0]!.group, 'admins');
  assert.equal(r.config.acls[0]!.consumer.id, alice.id);
  assert.equal(r.config.basicauth_credentials[0]!.password, createHash('sha1').update(`pw${alice.id}`).digest('hex'));
  assert.match(r.config.jwt_secrets[0]!.secret!, /^[0-9a-f]{32}$/);
  assert.equal(r.config.consumer_group_consumers[0]!.consumer_group.id, r.config.consumer_groups[0]!.id);
  assert.equal(r.config.keys[0]!.set!.id, r.config.key_sets[0]!.id);
  assert.equal(r.config.vaults[0]!.prefix, 'app-env');
});

test('an export reloads with the same rows: `_transform: false` keeps the password hash', () => {
  const first = parseDeclarative(FILE);
  assert.ok(first.ok);
  const again = parseDeclarative(JSON.stringify(exportDeclarative(first.config)));
  assert.ok(again.ok, JSON.stringify(!again.ok && again.fields));
  assert.deepEqual(again.config.basicauth_credentials, first.config.basicauth_credentials);
  assert.deepEqual(again.config.acls, first.config.acls);
  assert.deepEqual(again.config.jwt_secrets, first.config.jwt_secrets);
});

test('Kong’s field errors for nested entities', () => {
  const r = parseDeclarative('_format_version: "3.0"\nconsumers:\n- username: a\n  acls:\n  - {}\n  basicauth_credentials:\n  - username: x\n');
  assert.ok(!r.ok);
  assert.deepEqual(r.fields, {
    consumers: [{ acls: [{ group: 'required field missing' }], basicauth_credentials: [{ password: 'required field missing' }] }],
  });
});
