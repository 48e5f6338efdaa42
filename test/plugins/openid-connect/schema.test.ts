/**
 * Kong users move their openid-connect configuration over unchanged: Kong's
 * names and defaults, both the 3.13 and 3.14+ spellings, only `issuer`
 * required — and a Kong parameter Portcullis does not implement is refused
 * with a violation naming it, never silently ignored.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeConfig, CONFIG_FIELDS } from '../../../src/plugins/openid-connect/schema.ts';
import { checkConfig, UNSUPPORTED_RULES } from '../../../src/plugins/openid-connect/unsupported.ts';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';

const ISSUER = 'http://127.0.0.1:9/realms/demo';

describe('defaults (Kong 3.15 reference)', () => {
  const c = normalizeConfig({ issuer: ISSUER });
  const expected: Record<string, unknown> = {
    auth_methods: ['password', 'client_credentials', 'authorization_code', 'bearer', 'introspection', 'userinfo', 'kong_oauth2', 'refresh_token', 'session'],
    scopes: ['openid'],
    client_auth: null,
    client_arg: 'client_id',
    hide_credentials: true,
    leeway: 0,
    cache_ttl: 3600,
    timeout: 10000,
    ssl_verify: true,
    keepalive: true,
    rediscovery_lifetime: 30,
    response_mode: 'query',
    logout_methods: ['POST', 'DELETE'],
    logout_query_arg: null,
    logout_revoke: false,
    logout_revoke_access_token: true,
    logout_revoke_refresh_token: true,
    upstream_access_token_header: 'authorization:bearer',
    consumer_by: ['username', 'custom_id'],
    consumer_optional: false,
    login_action: 'upstream',
    login_tokens: ['id_token'],
    login_redirect_mode: 'fragment',
    login_methods: ['authorization_code'],
    scopes_claim: ['scope'],
    audience_claim: ['aud'],
    groups_claim: ['groups'],
    roles_claim: ['roles'],
    credential_claim: ['sub'],
    bearer_token_param_type: ['header', 'query', 'body'],
    display_errors: false,
    expose_error_code: true,
    unauthorized_error_message: 'Unauthorized',
    forbidden_error_message: 'Forbidden',
    session_cookie_name: 'session',
    session_cookie_same_site: 'Lax',
    session_idling_timeout: 900,
    session_rolling_timeout: 3600,
    session_absolute_timeout: 86400,
    authorization_cookie_name: 'authorization',
    authorization_rolling_timeout: 600,
    introspection_hint: 'access_token',
    introspection_check_active: true,
    refresh_tokens: true,
    run_on_preflight: true,
    unauthorized_destroy_session: true,
    forbidden_destroy_session: true,
    enable_hs_signatures: false,
    verify_nonce: true,
    cache_tokens: true,
    cache_introspection: true,
    cache_user_info: true,
  };
  for (const [field, value] of Object.entries(expected)) {
    test(`${field} defaults to ${JSON.stringify(value)}`, () => {
      assert.deepEqual((c as Record<string, unknown>)[field], value);
    });
  }
  test('every field is present (null when Kong has no default), shorthands excepted', () => {
    for (const f of ['anonymous', 'client_id', 'issuers_allowed', 'upstream_headers', 'redirect_uri']) assert.equal((c as Record<string, unknown>)[f], null, f);
    assert.equal('consumer_claim' in c, false);
    assert.ok(CONFIG_FIELDS.length > 200);
  });
});

describe('spellings', () => {
  test('3.13 and 3.14+ spellings are both accepted', () => {
    for (const extra of [
      { consumer_claim: ['preferred_username'] },
      { consumer_claims: [['preferred_username'], ['sub']] },
      { upstream_headers_claims: ['email'], upstream_headers_names: ['x-email'] },
      { upstream_headers: [{ header: 'x-email', path: ['email'] }] },
      { session_cookie_lifetime: 7200, session_cookie_idletime: 60, session_cookie_samesite: 'Strict', session_cookie_httponly: false },
      { authorization_cookie_lifetime: 300 },
    ]) {
      const c = normalizeConfig({ issuer: ISSUER, ...extra });
      assert.deepEqual(checkConfig(c), {}, JSON.stringify(extra));
    }
  });

  test('only issuer is required', () => {
    assert.throws(() => normalizeConfig({}), /issuer/);
  });
});

describe('unsupported Kong parameters are refused by name', () => {
  test('each rule names its field', () => {
    const samples: Record<string, unknown> = {
      using_pseudo_issuer: true,
      token_exchange_endpoint: 'https://x/exchange',
      response_mode: 'query.jwt',
      client_auth: ['tls_client_auth'],
      session_storage: 'memcached',
      introspection_accept: 'application/jwt',
      ignore_signature: ['session'],
      verify_signature: false,
      http_proxy: 'http://proxy:3128',
    };
    for (const [field, value] of Object.entries(samples)) {
      const errors = checkConfig(normalizeConfig({ issuer: ISSUER, [field]: value }));
      assert.match(String(errors[field]), /not supported by Portcullis yet/, field);
    }
    assert.ok(UNSUPPORTED_RULES.length > 30);
  });

  test('private_key_jwt without a client_jwk is refused (Portcullis does not generate keys)', () => {
    assert.ok(checkConfig(normalizeConfig({ issuer: ISSUER, client_auth: ['private_key_jwt'] })).client_jwk);
  });
});

describe('coverage table', () => {
  test('docs/plugins/openid-connect.md lists every Kong parameter the schema knows, with a status', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../../docs/plugins/openid-connect.md', import.meta.url), 'utf8');
    for (const f of CONFIG_FIELDS) assert.match(doc, new RegExp(`\\| \`${f}\` \\| [^|]* \\| (supported|partial|planned|not applicable)`), f);
    for (const [field] of UNSUPPORTED_RULES) assert.match(doc, new RegExp(`\\| \`${field}\` \\| [^|]* \\| (partial|planned|not applicable)`), `${field} is refused, the table must not say supported`);
  });
});

describe('through the Admin API', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw?.close());

  test('an unsupported parameter is a 400 schema violation naming it', async () => {
    const r = await gw.admin('POST', '/plugins', { name: 'openid-connect', config: { issuer: ISSUER, resolve_distributed_claims: true } });
    assert.equal(r.status, 400);
    assert.equal(r.body.name, 'schema violation');
    assert.match(r.body.fields.config.resolve_distributed_claims, /not supported by Portcullis yet/);
  });

  test('an unknown field and a missing issuer are refused as Kong refuses them', async () => {
    const u = await gw.admin('POST', '/plugins', { name: 'openid-connect', config: { issuer: ISSUER, no_such_field: 1 } });
    assert.deepEqual(u.body.fields, { config: { no_such_field: 'unknown field' } });
    const m = await gw.admin('POST', '/plugins', { name: 'openid-connect', config: {} });
    assert.deepEqual(m.body.fields, { config: { issuer: 'required field missing' } });
  });

  test('the walkthrough configuration (form-encoded, scalars for arrays) is accepted with Kong defaults filled in', async () => {
    const res = await fetch(`${gw.adminUrl}/plugins`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        name: 'openid-connect',
        'config.issuer': ISSUER,
        'config.client_id': 'kong',
        'config.client_secret': 'kong-secret',
        'config.redirect_uri': 'http://localhost:8000/oidc',
        'config.consumer_optional': 'true',
        'config.scopes_required': 'kong_api_access',
      }),
    });
    const body = (await res.json()) as { config: Record<string, unknown> };
    assert.equal(res.status, 201, JSON.stringify(body));
    assert.deepEqual(body.config.client_id, ['kong']);
    assert.deepEqual(body.config.scopes_required, ['kong_api_access']);
    assert.equal(body.config.consumer_optional, true);
    assert.equal(body.config.hide_credentials, true);
  });

  test('GET /schemas/plugins/openid-connect serves the schema', async () => {
    const r = await gw.admin('GET', '/schemas/plugins/openid-connect');
    assert.equal(r.status, 200);
    const config = r.body.fields.find((f: Record<string, unknown>) => 'config' in f).config;
    const names = config.fields.map((f: Record<string, unknown>) => Object.keys(f)[0]);
    for (const n of ['issuer', 'auth_methods', 'scopes_required', 'upstream_headers', 'consumer_claims', 'session_rolling_timeout']) assert.ok(names.includes(n), n);
  });
});
