/**
 * The pure parts, one layer at a time: cache freshness and single-flight,
 * JWKS processing and key selection, discovery URL forms and response
 * checks, RFC 7662 / token endpoint response processing, the current-URL
 * builder behind the default redirect_uri (forwarded headers only from
 * trusted proxies), query/cookie stripping, client selection and
 * authentication, PKCE.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContext } from '../../../src/core/context.ts';
import type { ConsumerIndex } from '../../../src/plugins/types.ts';
import { IpMatcher } from '../../../src/shared/ip.ts';
import { TtlCache, positiveTtlMs, compileCachePolicy } from '../../../src/plugins/openid-connect/cache.ts';
import { candidates, processJwksResponse, RemoteKeySet } from '../../../src/plugins/openid-connect/jwks.ts';
import { discoveryUrlFor, issuerIdentifierFor, processDiscoveryResponse } from '../../../src/plugins/openid-connect/discovery.ts';
import { allowedAsymmetricAlgs } from '../../../src/plugins/openid-connect/provider.ts';
import { processTokenResponse } from '../../../src/plugins/openid-connect/flows/token-endpoint.ts';
import { processIntrospectionResponse } from '../../../src/plugins/openid-connect/validate/introspection.ts';
import { processUserinfoResponse } from '../../../src/plugins/openid-connect/validate/userinfo.ts';
import { checkIdTokenClaims } from '../../../src/plugins/openid-connect/validate/id-token.ts';
import { currentUrl } from '../../../src/plugins/openid-connect/request-url.ts';
import { removeCookies, removeQueryArgs } from '../../../src/plugins/openid-connect/extract.ts';
import { clientByArg, compileClients, selectClient } from '../../../src/plugins/openid-connect/clients.ts';
import { authenticateClient, chooseMethod } from '../../../src/plugins/openid-connect/client-auth.ts';
import { codeChallengeS256, codeVerifier } from '../../../src/plugins/openid-connect/pkce.ts';
import { wwwAuthenticate, realmOf } from '../../../src/plugins/openid-connect/errors.ts';
import { logoutLocation } from '../../../src/plugins/openid-connect/flows/logout.ts';
import { IdpUnavailable } from '../../../src/plugins/openid-connect/http.ts';

const consumers: ConsumerIndex = { byId: () => null, byUsername: () => null, byCustomId: () => null };

function fakeCtx(opts: { url?: string; headers?: Record<string, string>; peer?: string; localPort?: number; scheme?: 'http' | 'https' } = {}): RequestContext {
  const url = opts.url ?? '/app/x?a=1';
  const req = {
    method: 'GET',
    url,
    headers: { host: 'gw.example:8000', ...opts.headers },
    rawHeaders: [],
    socket: { remoteAddress: opts.peer ?? '10.0.0.5', localPort: opts.localPort ?? 8000 },
  } as unknown as IncomingMessage;
  const ctx = new RequestContext(req, {} as ServerResponse, 'id', 0, consumers);
  const q = url.indexOf('?');
  ctx.rawPath = q === -1 ? url : url.slice(0, q);
  ctx.query = q === -1 ? '' : url.slice(q + 1);
  ctx.upstreamQuery = ctx.query;
  ctx.host = 'gw.example';
  ctx.port = 8000;
  ctx.scheme = opts.scheme ?? 'http';
  ctx.upstreamHeaders = { ...req.headers } as Record<string, string>;
  return ctx;
}

const res = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, headers, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) });

describe('caches', () => {
  test('entries expire at their TTL and the LRU evicts the least recently used', () => {
    const c = new TtlCache<number>('t', 2);
    c.set('a', 1, 1000, 0);
    c.set('b', 2, 1000, 0);
    assert.equal(c.get('a', 10), 1); // a is now most recent
    c.set('c', 3, 1000, 10);
    assert.equal(c.get('b', 20), undefined);
    assert.equal(c.get('a', 20), 1);
    assert.equal(c.get('a', 1001), undefined);
  });

  test('concurrent loads share one loader call; a thrown failure is not cached', async () => {
    const c = new TtlCache<string>('t', 10);
    let calls = 0;
    const loader = async () => {
      calls++;
      await new Promise((r) => setImmediate(r)); // settles after both loads started
      return { value: 'v', ttlMs: 1000 };
    };
    const [x, y] = await Promise.all([c.load('k', loader), c.load('k', loader)]);
    assert.equal(x, 'v');
    assert.equal(y, 'v');
    assert.equal(calls, 1);
    await assert.rejects(c.load('f', async () => Promise.reject(new Error('down'))));
    assert.equal(await c.load('f', async () => ({ value: 'ok', ttlMs: 1000 })), 'ok');
  });

  test('a positive entry never outlives the token; without exp it lasts cache_ttl', () => {
    const p = compileCachePolicy({ cache_ttl: 3600, cache_ttl_max: null, cache_ttl_min: 7200, cache_ttl_neg: null, cache_tokens: true, cache_introspection: true, cache_user_info: true, cache_tokens_salt: null, token_cache_key_include_scope: false });
    assert.equal(positiveTtlMs(p, 110, 100_000), 10_000);
    assert.equal(positiveTtlMs(p, null, 0), 7_200_000);
    assert.equal(p.negativeTtlMs, 30_000);
  });
});

describe('JWKS', () => {
  test('only signing keys are kept, private members and symmetric keys dropped', () => {
    const keys = processJwksResponse({
      keys: [
        { kty: 'RSA', kid: 'a', n: 'x', e: 'AQAB', d: 'secret', alg: 'RS256' },
        { kty: 'RSA', kid: 'enc', use: 'enc', n: 'x', e: 'AQAB' },
        { kty: 'oct', kid: 'h', k: 'c2VjcmV0' },
        { kty: 'EC', kid: 'e', crv: 'P-256', x: 'x', y: 'y' },
      ],
    });
    assert.deepEqual(keys.map((k) => k.kid), ['a', 'e']);
    assert.equal((keys[0]!.jwk as Record<string, unknown>).d, undefined);
  });

  test('a key is chosen by kid, key type and its own alg', () => {
    const set = new RemoteKeySet('u');
    set.keys = processJwksResponse({ keys: [{ kty: 'RSA', kid: 'a', n: 'x', e: 'AQAB', alg: 'RS256' }, { kty: 'EC', kid: 'b', crv: 'P-256', x: 'x', y: 'y' }] });
    assert.deepEqual(candidates([set], 'RS256', 'a').map((k) => k.kid), ['a']);
    assert.deepEqual(candidates([set], 'PS256', 'a'), [], 'the key pins RS256');
    assert.deepEqual(candidates([set], 'ES256', undefined).map((k) => k.kid), ['b']);
    assert.deepEqual(candidates([set], 'HS256', 'a'), [], 'never a public key for HMAC');
  });

  test('a JWKS answer that is not a key set is an IdP failure', () => {
    assert.throws(() => processJwksResponse({ nope: [] }), IdpUnavailable);
  });
});

describe('discovery', () => {
  test('the issuer or the document URL may be configured', () => {
    assert.equal(discoveryUrlFor('https://idp/realms/demo'), 'https://idp/realms/demo/.well-known/openid-configuration');
    assert.equal(discoveryUrlFor('https://idp/realms/demo/'), 'https://idp/realms/demo/.well-known/openid-configuration');
    assert.equal(discoveryUrlFor('https://idp/realms/demo/.well-known/openid-configuration'), 'https://idp/realms/demo/.well-known/openid-configuration');
    assert.equal(issuerIdentifierFor('https://idp/.well-known/oauth-authorization-server'), 'https://idp');
  });

  test('a document without issuer is refused; the alg allow-list never contains none or HS*', () => {
    assert.throws(() => processDiscoveryResponse(200, { jwks_uri: 'x' }), IdpUnavailable);
    const algs = allowedAsymmetricAlgs({ issuer: 'x', id_token_signing_alg_values_supported: ['RS256', 'none', 'HS256'] });
    assert.deepEqual([...algs], ['RS256']);
    assert.ok(allowedAsymmetricAlgs({ issuer: 'x' }).has('ES256'));
  });
});

describe('response processing', () => {
  test('token endpoint: 400 invalid_grant is a refusal, 5xx an IdP failure, 200 without access_token a failure', () => {
    const refused = processTokenResponse(res(400, { error: 'invalid_grant' }));
    assert.equal(refused.ok, false);
    assert.throws(() => processTokenResponse(res(503, 'down')), IdpUnavailable);
    assert.throws(() => processTokenResponse(res(200, { token_type: 'Bearer' })), IdpUnavailable);
    const ok = processTokenResponse(res(200, { access_token: 'a', expires_in: 60 }), 1_000_000);
    assert.equal(ok.ok && ok.value.__expires_at, 1060);
  });

  test('introspection: anything but 200 JSON is an IdP failure (including our client being refused)', () => {
    assert.deepEqual(processIntrospectionResponse(res(200, { active: false })), { active: false });
    assert.throws(() => processIntrospectionResponse(res(401, { error: 'invalid_client' })), IdpUnavailable);
    assert.throws(() => processIntrospectionResponse(res(200, 'not json')), IdpUnavailable);
  });

  test('userinfo: 401/403 mean a bad token, 5xx the IdP', () => {
    assert.equal(processUserinfoResponse(res(401, '')).ok, false);
    assert.throws(() => processUserinfoResponse(res(502, '')), IdpUnavailable);
  });

  test('ID token claims: aud, azp, nonce, max_age, hd', () => {
    const now = 1000;
    const base = { aud: 'kong', exp: 2000, nonce: 'n', auth_time: 900, hd: 'example.com' };
    const checks = { clientId: 'kong', nonce: 'n', maxAgeSec: 200, domains: ['example.com'], leewaySec: 0 };
    checkIdTokenClaims(base, checks, now);
    assert.throws(() => checkIdTokenClaims({ ...base, aud: 'other' }, checks, now), /aud/);
    assert.throws(() => checkIdTokenClaims({ ...base, aud: ['kong', 'x'] }, checks, now), /azp/);
    checkIdTokenClaims({ ...base, aud: ['kong', 'x'], azp: 'kong' }, checks, now);
    assert.throws(() => checkIdTokenClaims({ ...base, nonce: 'm' }, checks, now), /nonce/);
    assert.throws(() => checkIdTokenClaims({ ...base, auth_time: 700 }, checks, now), /max_age/);
    assert.throws(() => checkIdTokenClaims({ ...base, hd: 'evil.com' }, checks, now), /hd/);
  });
});

describe('request URL and stripping', () => {
  test('the default redirect_uri uses X-Forwarded-* only from a trusted peer', () => {
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com', 'x-forwarded-port': '443' };
    const untrusted = fakeCtx({ headers });
    assert.equal(currentUrl(untrusted, new IpMatcher([])), 'http://gw.example:8000/app/x');
    const trusted = fakeCtx({ headers, peer: '10.0.0.5' });
    assert.equal(currentUrl(trusted, new IpMatcher(['10.0.0.0/8'])), 'https://api.example.com/app/x');
  });

  test('query arguments are removed byte-exactly, others kept as sent', () => {
    const ctx = fakeCtx({ url: '/p?code=abc&x=a%20b&state=s&y=1' });
    removeQueryArgs(ctx, ['code', 'state']);
    assert.equal(ctx.upstreamQuery, 'x=a%20b&y=1');
  });

  test('cookies are removed from the upstream Cookie header by name', () => {
    const ctx = fakeCtx({ headers: { cookie: 'a=1; tok=secret; b=2' } });
    removeCookies(ctx, (n) => n === 'tok');
    assert.equal(ctx.upstreamHeaders.cookie, 'a=1; b=2');
  });
});

describe('clients', () => {
  const plan = compileClients({
    client_id: ['one', 'two'],
    client_secret: ['s1'],
    client_auth: null,
    client_alg: null,
    client_jwk: null,
    redirect_uri: ['https://a/cb'],
    login_redirect_uri: null,
    logout_redirect_uri: null,
    forbidden_redirect_uri: null,
    unauthorized_redirect_uri: null,
    unexpected_redirect_uri: null,
    client_arg: 'client_id',
    token_endpoint_auth_method: null,
    introspection_endpoint_auth_method: null,
    revocation_endpoint_auth_method: null,
  });

  test('paired by index with fallback to the first entry; selected by id or index', () => {
    assert.equal(plan.clients[1]!.secret, 's1');
    assert.equal(plan.clients[1]!.redirectUri, 'https://a/cb');
    assert.equal(clientByArg(plan, '2')?.id, 'two');
    assert.equal(clientByArg(plan, 'two')?.index, 2);
    assert.equal(selectClient(fakeCtx({ url: '/?client_id=two' }), plan).id, 'two');
    assert.equal(selectClient(fakeCtx({ headers: { 'x-client-id': '2' } }), plan).id, 'two');
    assert.equal(selectClient(fakeCtx(), plan).id, 'one');
  });

  test('client authentication: basic by default, post when the IdP only offers it, none without a secret', async () => {
    const c = plan.clients[0]!;
    assert.equal(chooseMethod(null, c, ['client_secret_basic', 'client_secret_post']), 'client_secret_basic');
    assert.equal(chooseMethod(null, c, ['client_secret_post']), 'client_secret_post');
    assert.equal(chooseMethod(null, { ...c, secret: null }, undefined), 'none');
    const form = new URLSearchParams();
    const headers: Record<string, string> = {};
    await authenticateClient({ method: 'client_secret_basic', client: { ...c, id: 'a b', secret: 'p:w' }, audience: 'https://idp/token' }, form, headers);
    assert.equal(headers.authorization, 'Basic ' + Buffer.from('a+b:p%3Aw').toString('base64'));
    const f2 = new URLSearchParams();
    await authenticateClient({ method: 'client_secret_jwt', client: c, audience: 'https://idp/token' }, f2, {});
    assert.equal(f2.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    assert.equal(f2.get('client_assertion')!.split('.').length, 3);
  });
});

describe('logout target', () => {
  test('end session endpoint with id_token_hint, post_logout_redirect_uri and client_id; else logout_redirect_uri; else none (204)', () => {
    const c = compileClients({ client_id: ['kong'], client_secret: null, client_auth: null, client_alg: null, client_jwk: null, redirect_uri: null, login_redirect_uri: null, logout_redirect_uri: ['https://app/bye'], forbidden_redirect_uri: null, unauthorized_redirect_uri: null, unexpected_redirect_uri: null, client_arg: 'client_id', token_endpoint_auth_method: null, introspection_endpoint_auth_method: null, revocation_endpoint_auth_method: null }).clients[0]!;
    const u = new URL(logoutLocation('https://idp/logout?x=1', c, 'idt')!);
    assert.equal(u.searchParams.get('x'), '1');
    assert.equal(u.searchParams.get('id_token_hint'), 'idt');
    assert.equal(u.searchParams.get('post_logout_redirect_uri'), 'https://app/bye');
    assert.equal(u.searchParams.get('client_id'), 'kong');
    assert.equal(logoutLocation(null, c, 'idt'), 'https://app/bye');
    assert.equal(logoutLocation(null, { ...c, logoutRedirectUri: null }, undefined), null);
  });
});

describe('PKCE and challenges', () => {
  test('S256 challenge of a 43-character verifier (RFC 7636 Appendix B)', () => {
    const v = codeVerifier();
    assert.equal(v.length, 43);
    assert.equal(codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    assert.equal(codeChallengeS256(v), createHash('sha256').update(v).digest('base64url'));
  });

  test('WWW-Authenticate as Kong builds it; realm is the issuer host', () => {
    assert.equal(realmOf('https://idp.example.com:8443/realms/demo'), 'idp.example.com');
    assert.equal(wwwAuthenticate('r', 401, true, 'The access token expired'), 'Bearer realm="r", error="invalid_token", error_description="The access token expired"');
    assert.equal(wwwAuthenticate('r', 403, false, null), 'Bearer realm="r"');
  });
});
