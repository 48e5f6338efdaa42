/**
 * Consumer groups from claims (`consumer_groups_claim`, Kong Enterprise): the
 * IdP's `groups` claim names consumer groups (the `consumer_groups` entity);
 * acl with `include_consumer_groups` allows or denies by them — no consumer is
 * created for any user. Groups the claim names but that do not exist are
 * ignored; none found is a 403 unless `consumer_groups_optional`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_PASSWORD, passwordGrant } from '../../helpers/idp.ts';
import { startOidcEnv, type OidcEnv } from './env.ts';

const bearer = (t: string): RequestInit => ({ headers: { authorization: `Bearer ${t}` } });

let env: OidcEnv;
let withScope: string;
let withoutScope: string;
before(async () => {
  env = await startOidcEnv();
  // Blog_with_scope is in IdP group kong_api_access, Blog_without_scope in blog_readers (no such consumer group).
  assert.equal((await env.gw.admin('POST', '/consumer_groups', { name: 'kong_api_access' })).status, 201);
  assert.equal((await env.gw.admin('POST', '/consumer_groups', { name: 'partners' })).status, 201);
  const base = { client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'], consumer_groups_claim: ['groups'] };
  await env.protect('cg', base);
  await env.protect('cg-acl', { ...base, consumer_groups_optional: true });
  let r = await env.gw.admin('POST', '/routes/route-cg-acl/plugins', { name: 'acl', config: { allow: ['kong_api_access'], include_consumer_groups: true } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await env.protect('cg-acl-off', { ...base, consumer_groups_optional: true });
  r = await env.gw.admin('POST', '/routes/route-cg-acl-off/plugins', { name: 'acl', config: { allow: ['kong_api_access'] } });
  assert.equal(r.status, 201);
  await env.gw.settle();
  withScope = (await passwordGrant(env.idp, 'Blog_with_scope', DEMO_PASSWORD)).access_token;
  withoutScope = (await passwordGrant(env.idp, 'Blog_without_scope', DEMO_PASSWORD)).access_token;
});
after(() => env?.close());

describe('consumer_groups_claim', () => {
  test('no consumers exist: the schema accepts the option, and the consumer_groups entity is the only configuration', async () => {
    const consumers = await env.gw.admin('GET', '/consumers');
    assert.deepEqual(consumers.body.data, []);
  });

  test('a user whose groups name a consumer group passes', async () => {
    const r = await env.call('/cg', bearer(withScope));
    assert.equal(r.status, 200, r.text);
  });

  test('a user whose groups name no consumer group: 403, 0 upstream hits', async () => {
    const upstream = env.echo.requestCount();
    const r = await env.call('/cg', bearer(withoutScope));
    assert.equal(r.status, 403);
    assert.equal(env.echo.requestCount(), upstream);
  });

  test('acl include_consumer_groups allows by the IdP group, denies the other user (403)', async () => {
    assert.equal((await env.call('/cg-acl', bearer(withScope))).status, 200);
    const upstream = env.echo.requestCount();
    const denied = await env.call('/cg-acl', bearer(withoutScope));
    // The token's sub is the credential (credential_claim): no groups but a credential is acl's 403.
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.body.message, 'You cannot consume this service');
    assert.equal(env.echo.requestCount(), upstream);
  });

  test('acl without include_consumer_groups does not see them (as Kong): 403', async () => {
    assert.equal((await env.call('/cg-acl-off', bearer(withScope))).status, 403);
  });

  test('a group added at run time is picked up with the next configuration', async () => {
    assert.equal((await env.gw.admin('POST', '/consumer_groups', { name: 'blog_readers' })).status, 201);
    await env.gw.settle();
    assert.equal((await env.call('/cg', bearer(withoutScope))).status, 200);
    assert.equal((await env.gw.admin('DELETE', '/consumer_groups/blog_readers')).status, 204);
    await env.gw.settle();
    assert.equal((await env.call('/cg', bearer(withoutScope))).status, 403);
  });
});
