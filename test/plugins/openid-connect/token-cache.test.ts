/**
 * The verified-token cache (a repeated bearer token is not verified again)
 * must never be a way in: a cached verdict ends with the token's `exp`, ends
 * when the IdP stops publishing the key that signed the token (once the
 * gateway has refetched the key set, as an uncached check would notice), and
 * a tampered copy of a cached token is refused. Tokens are signed by a key
 * set this test serves and changes (extra_jwks_uris).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, type JWK } from 'jose';
import { startOidcEnv, type OidcEnv } from './env.ts';

const ISS = 'https://trusted.example/cache';

interface Key {
  kid: string;
  privateKey: KeyObject;
  jwk: JWK;
}

async function newKey(): Promise<Key> {
  const kid = randomUUID();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } as JWK };
}

let env: OidcEnv;
let jwksServer: Server;
let published: Key[] = [];
let keyA: Key;
let keyB: Key;

async function sign(key: Key, extra: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISS, sub: `user-${randomUUID()}`, aud: 'kong', iat: now, exp: now + 300, scope: 'openid kong_api_access', ...extra })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .sign(key.privateKey);
}

async function call(path: string, token: string) {
  return env.call(path, { headers: { authorization: `Bearer ${token}` } });
}

before(async () => {
  [keyA, keyB] = await Promise.all([newKey(), newKey()]);
  published = [keyA, keyB];
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
  const { port } = jwksServer.address() as { port: number };
  env = await startOidcEnv();
  await env.protect('cached', {
    client_id: ['kong'],
    client_secret: ['kong-secret'],
    auth_methods: ['bearer'],
    extra_jwks_uris: [`http://127.0.0.1:${port}/jwks`],
    issuers_allowed: [ISS],
    scopes_required: ['kong_api_access'],
    upstream_headers_claims: ['sub'],
    upstream_headers_names: ['x-sub'],
    // An unknown kid may refetch the key sets at once (no cooldown), so the test can make the gateway see a rotation.
    rediscovery_lifetime: 0,
  });
});

after(async () => {
  await env?.close();
  await new Promise<void>((r) => jwksServer.close(() => r()));
});

describe('the verified-token cache never outlives what verified the token', () => {
  test('a repeated token keeps passing with its own claims, and a tampered copy of it is refused without reaching the upstream', async () => {
    const t = await sign(keyA, { sub: 'alice' });
    for (let i = 0; i < 3; i++) {
      const r = await call('/cached', t);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.headers['x-sub'], 'alice');
    }
    const [h, p, s] = t.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    payload.sub = 'mallory';
    const before = env.echo.requestCount();
    const r = await call('/cached', `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`);
    assert.equal(r.status, 401);
    assert.equal(env.echo.requestCount(), before, 'the upstream must not be reached');
    // The original is still accepted (the refusal did not poison its entry).
    assert.equal((await call('/cached', t)).status, 200);
  });

  test('a token accepted from the cache is refused once it has expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const t = await sign(keyB, { exp: now + 2 });
    assert.equal((await call('/cached', t)).status, 200);
    assert.equal((await call('/cached', t)).status, 200);
    await new Promise((r) => setTimeout(r, (now + 2) * 1000 - Date.now() + 200));
    const r = await call('/cached', t);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /invalid_token|Bearer realm=/);
  });

  test('a cached token is refused once the IdP stops publishing the key that signed it and the gateway has refetched the keys', async () => {
    const fromA = await sign(keyA);
    const fromB = await sign(keyB);
    assert.equal((await call('/cached', fromA)).status, 200);
    assert.equal((await call('/cached', fromA)).status, 200, 'served from the cache');
    assert.equal((await call('/cached', fromB)).status, 200);

    // Key A is withdrawn; a token with a kid nobody knows makes the gateway refetch the key set.
    published = [keyB];
    const stranger = await newKey();
    assert.equal((await call('/cached', await sign(stranger))).status, 401);

    const before = env.echo.requestCount();
    assert.equal((await call('/cached', fromA)).status, 401, 'the verdict cached for key A must not survive its removal');
    assert.equal(env.echo.requestCount(), before, 'the upstream must not be reached');
    assert.equal((await call('/cached', fromB)).status, 200, 'tokens of a key still published keep passing');
  });
});
