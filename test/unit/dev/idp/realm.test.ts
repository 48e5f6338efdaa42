import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Realm, tokenScope, keycloakAccessTokenClaims, DEMO_PASSWORD } from '../../../../src/dev/idp/realm.ts';

const realm = new Realm('demo');

test('the demo users log in with the walkthrough password only', () => {
  assert.equal(realm.authenticate('Blog_with_scope', DEMO_PASSWORD)?.username, 'Blog_with_scope');
  assert.equal(realm.authenticate('blog_without_scope', DEMO_PASSWORD)?.username, 'Blog_without_scope', 'usernames are case-insensitive, as in Keycloak');
  assert.equal(realm.authenticate('Blog_with_scope', 'veryComplexPa55word '), undefined);
  assert.equal(realm.authenticate('nobody', DEMO_PASSWORD), undefined);
  assert.equal(realm.authenticate(undefined, undefined), undefined);
});

test('kong_api_access is a default scope for the user in its group and never granted to the other', () => {
  const withScope = realm.findByUsername('Blog_with_scope');
  const without = realm.findByUsername('Blog_without_scope');
  assert.equal(tokenScope(withScope, 'openid'), 'openid profile email kong_api_access');
  assert.equal(tokenScope(without, 'openid kong_api_access'), 'openid profile email');
  assert.equal(tokenScope(undefined, undefined), 'profile email');
});

test('access token claims carry Keycloak names: realm_access.roles, groups, azp, typ, aud with account', () => {
  const user = realm.findByUsername('Blog_with_scope');
  const c = keycloakAccessTokenClaims({ clientId: 'kong', scope: 'openid', user, sid: 'sid-1' });
  assert.deepEqual(c.aud, ['kong', 'account']);
  assert.equal(c.typ, 'Bearer');
  assert.equal(c.azp, 'kong');
  assert.equal(c.sid, 'sid-1');
  assert.equal(c.preferred_username, 'Blog_with_scope');
  assert.ok((c.realm_access as { roles: string[] }).roles.includes('kong_api_access'));
  assert.deepEqual(c.groups, ['kong_api_access']);
  const svc = keycloakAccessTokenClaims({ clientId: 'service-client', scope: undefined, user: undefined, sid: undefined });
  assert.equal(svc.preferred_username, 'service-account-service-client');
  assert.equal(svc.client_id, 'service-client');
});
