/**
 * Authorization rules with Kong's semantics: each entry of a *_required list
 * is a space-separated set that must all be present; the entries are
 * alternatives. Values are read from the configured claim path (nested paths
 * such as Keycloak's realm_access.roles), whether the claim is a
 * space-separated string, an array or a scalar. issuers_allowed failing is a
 * 401; the others are 403.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, compileAuthz, satisfies } from '../../../src/plugins/openid-connect/authorize.ts';
import { claimWords, findClaim, headerValue } from '../../../src/plugins/openid-connect/claims.ts';
import { startOidcEnv, type OidcEnv } from './env.ts';

const plan = (c: Partial<Parameters<typeof compileAuthz>[0]>) =>
  compileAuthz({
    issuers_allowed: null,
    scopes_required: null,
    scopes_claim: ['scope'],
    audience_required: null,
    audience_claim: ['aud'],
    groups_required: null,
    groups_claim: ['groups'],
    roles_required: null,
    roles_claim: ['roles'],
    claims_forbidden: null,
    ...c,
  });

describe('requirement semantics (pure)', () => {
  test('entries are alternatives; words inside an entry are all required', () => {
    const p = plan({ scopes_required: ['openid email', 'admin'] });
    assert.equal(authorize(p, null, { scope: 'openid email profile' }), null);
    assert.equal(authorize(p, null, { scope: 'admin' }), null);
    const r = authorize(p, null, { scope: 'openid profile' });
    assert.equal(r?.status, 403);
    assert.equal(r?.reason, 'required scopes were not found [ openid, profile ]');
  });

  test('claim values may be a space-separated string, an array or a scalar', () => {
    assert.deepEqual(claimWords('a b  c'), ['a', 'b', 'c']);
    assert.deepEqual(claimWords(['a', 'b c']), ['a', 'b', 'c']);
    assert.deepEqual(claimWords(42), ['42']);
    assert.equal(claimWords({ a: 1 }), null);
    assert.equal(satisfies([new Set(['42'])], claimWords(42)!), true);
  });

  test('nested claim paths are followed', () => {
    assert.deepEqual(findClaim({ realm_access: { roles: ['x'] } }, ['realm_access', 'roles']), ['x']);
    assert.equal(findClaim({ realm_access: null }, ['realm_access', 'roles']), undefined);
    const p = plan({ roles_required: ['kong_api_access'], roles_claim: ['realm_access', 'roles'] });
    assert.equal(authorize(p, null, { realm_access: { roles: ['kong_api_access'] } }), null);
  });

  test('a missing claim is its own reason; issuers failing is a 401', () => {
    assert.equal(authorize(plan({ groups_required: ['g'] }), null, {})?.reason, 'groups required but no groups found');
    const i = authorize(plan({ issuers_allowed: ['https://a'] }), null, { iss: 'https://b' });
    assert.equal(i?.status, 401);
  });

  test('introspection results are read before the access token', () => {
    const p = plan({ scopes_required: ['x'] });
    assert.equal(authorize(p, { scope: 'x' }, { scope: 'y' }), null);
  });

  test('claims_forbidden refuses tokens carrying the claim', () => {
    assert.equal(authorize(plan({ claims_forbidden: ['impersonator'] }), null, { impersonator: 'x' })?.status, 403);
  });

  test('header values: strings as is, scalars as text, objects base64 JSON, CR/LF never', () => {
    assert.equal(headerValue('x'), 'x');
    assert.equal(headerValue(false), 'false');
    assert.equal(headerValue({ a: [1] }), Buffer.from('{"a":[1]}').toString('base64'));
    assert.equal(headerValue('a\r\nX-Evil: 1'), null);
  });
});

describe('authorization rules end to end', () => {
  let env: OidcEnv;
  let withScope: string;
  let withoutScope: string;
  before(async () => {
    env = await startOidcEnv();
    withScope = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access' });
    withoutScope = await env.idp.issueAccessToken({ username: 'Blog_without_scope', scope: 'openid' });
    const b = { auth_methods: ['bearer'] };
    await env.protect('scopes-or', { ...b, scopes_required: ['nope', 'openid email'] });
    await env.protect('roles', { ...b, roles_required: ['kong_api_access'], roles_claim: ['realm_access', 'roles'] });
    await env.protect('groups', { ...b, groups_required: ['kong_api_access'] });
    await env.protect('audience', { ...b, audience_required: ['account'] });
    await env.protect('audience-miss', { ...b, audience_required: ['payments'] });
    await env.protect('issuers', { ...b, issuers_allowed: ['https://other.example'] });
    await env.protect('forbidden-claims', { ...b, claims_forbidden: ['email'] });
  });
  after(() => env?.close());

  const call = (path: string, token: string) => env.call(path, { headers: { authorization: `Bearer ${token}` } });

  test('scopes: any alternative whose words are all present', async () => {
    assert.equal((await call('/scopes-or', withoutScope)).status, 200);
  });

  test('roles from Keycloak realm_access.roles', async () => {
    assert.equal((await call('/roles', withScope)).status, 200);
    assert.equal((await call('/roles', withoutScope)).status, 403);
  });

  test('groups', async () => {
    assert.equal((await call('/groups', withScope)).status, 200);
    const r = await call('/groups', withoutScope);
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="127.0.0.1", error="insufficient_scope"');
  });

  test('audience', async () => {
    assert.equal((await call('/audience', withScope)).status, 200);
    assert.equal((await call('/audience-miss', withScope)).status, 403);
  });

  test('issuers_allowed not matching is a 401, not a 403', async () => {
    const r = await call('/issuers', withScope);
    assert.equal(r.status, 401);
  });

  test('claims_forbidden', async () => {
    assert.equal((await call('/forbidden-claims', withScope)).status, 403);
  });
});
