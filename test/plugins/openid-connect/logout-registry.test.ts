/**
 * The back-channel logout records' time rule (src/plugins/openid-connect/session/logouts.ts): times are whole
 * seconds. A logged-out `sid` ends its session even within the same second; a logged-out `sub` ends the user's
 * sessions created before that second, not one created in it — a user who signs out at the IdP and straight
 * back in keeps the new session (this failed intermittently in logout-postgres.test.ts when the next test's
 * login fell in the second of the previous test's logout).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { LogoutRegistry } from '../../../src/plugins/openid-connect/session/logouts.ts';

const registry = new LogoutRegistry(null, null);
after(() => registry.close());
const ISSUER = 'https://idp.example/realms/demo';

test('a sub logged out at second T ends sessions created before T, not one created at T', async () => {
  const t = Math.floor(Date.now() / 1000);
  await registry.record({ issuer: ISSUER, sid: null, sub: 'alice', at: t, ttl: 600 });
  assert.equal(registry.ended(ISSUER, 'sid-old', 'alice', t - 1), true, 'a session from before the logout ends');
  assert.equal(registry.ended(ISSUER, 'sid-new', 'alice', t), false, 'a login in the second of the logout survives');
  assert.equal(registry.ended(ISSUER, 'sid-new', 'alice', t + 1), false);
  assert.equal(registry.ended(ISSUER, 'sid-bob', 'bob', t - 1), false, 'another user is not touched');
  assert.equal(registry.ended('https://other.example', 'sid-old', 'alice', t - 1), false, 'another issuer is not touched');
});

test('a sid logged out at second T ends the session carrying it, even one created at T', async () => {
  const t = Math.floor(Date.now() / 1000);
  await registry.record({ issuer: ISSUER, sid: 'sid-1', sub: null, at: t, ttl: 600 });
  assert.equal(registry.ended(ISSUER, 'sid-1', 'carol', t), true);
  assert.equal(registry.ended(ISSUER, 'sid-1', 'carol', t - 5), true);
  assert.equal(registry.ended(ISSUER, 'sid-1', 'carol', t + 1), false, 'created after the logout');
  assert.equal(registry.ended(ISSUER, 'sid-2', 'carol', t - 5), false, 'another IdP session of the user');
});
