/**
 * Hostile tokens (RFC 8725 "JWT Best Current Practices"; the classic JWT
 * library vulnerabilities): `alg: none`, HS256 signed with the IdP's public
 * key (algorithm confusion), expired, not yet valid, wrong issuer or
 * audience, tampered payload, unknown `kid`, keys offered by the token itself
 * (`jku`, `x5u`, `jwk`), unknown `crit` extensions, oversized tokens and
 * duplicate Authorization headers. Each one must be refused AND the upstream
 * must never see the request: a gateway that answers 401 after forwarding, or
 * forwards on an exception path, fails here.
 *
 * Besides the IdP's own keys, a second trusted key set (extra_jwks_uris) is
 * served by this test, so tokens that are validly signed by a trusted key
 * but carry a forbidden header can be built.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { generateKeyPairSync, createPublicKey, randomUUID, sign } from 'node:crypto';
import { SignJWT, exportJWK, type JWK } from 'jose';
import { startOidcEnv, type OidcEnv } from './env.ts';

let env: OidcEnv;
let jwksServer: Server;
let jwksUrl: string;
const ownKid = randomUUID();
const { privateKey: ownKey, publicKey: ownPublic } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const OWN_ISS = 'https://trusted.example/extra';

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: OWN_ISS, sub: 'attacker', aud: 'kong', iat: now, exp: now + 300, scope: 'openid kong_api_access', ...extra };
}

async function signOwn(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: ownKid, ...header } as { alg: string }).sign(ownKey);
}

before(async () => {
  const pub = { ...(await exportJWK(ownPublic)), kid: ownKid, alg: 'RS256', use: 'sig' } as JWK;
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [pub] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
  const addr = jwksServer.address() as { port: number };
  jwksUrl = `http://127.0.0.1:${addr.port}/jwks`;
  env = await startOidcEnv();
  const base = {
    client_id: ['kong'],
    client_secret: ['kong-secret'],
    auth_methods: ['bearer'],
    extra_jwks_uris: [jwksUrl],
    issuers_allowed: [OWN_ISS, env.idp.issuer],
    scopes_required: ['kong_api_access'],
  };
  await env.protect('guarded', base);
  await env.protect('guarded-aud', { ...base, audience_required: ['kong'] });
  await env.protect('guarded-hs', { ...base, enable_hs_signatures: true });
});

after(async () => {
  await env?.close();
  await new Promise<void>((r) => jwksServer.close(() => r()));
});

/** Send the token; assert it is refused with `status` and that the upstream never saw it. */
async function refused(path: string, token: string, status = 401): Promise<void> {
  const before = env.echo.requestCount();
  const r = await env.call(path, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
  assert.equal(env.echo.requestCount(), before, 'the upstream must not be reached');
}

describe('hostile tokens are refused and never reach the upstream', () => {
  test('control: a token validly signed by the extra trusted key passes (so the refusals below are about the attack)', async () => {
    const ok = await signOwn({}, claims());
    const r = await env.call('/guarded', { headers: { authorization: `Bearer ${ok}` } });
    assert.equal(r.status, 200, r.text);
  });

  test('alg none', async () => {
    const valid = await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access' });
    const [, payload] = valid.split('.');
    await refused('/guarded', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`);
    await refused('/guarded', `${b64({ alg: 'None' })}.${payload}.`);
  });

  test('HS256 signed with the IdP public key (algorithm confusion), with and without enable_hs_signatures', async () => {
    const jwksRes = await fetch(env.idp.endpoints.jwks);
    const jwks = (await jwksRes.json()) as { keys: JWK[] };
    const pubJwk = jwks.keys[0]!;
    const pem = createPublicKey({ key: pubJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: env.idp.issuer, sub: 'x', aud: 'kong', iat: now, exp: now + 300, scope: 'openid kong_api_access' };
    for (const secret of [pem, JSON.stringify(pubJwk), pubJwk.n!]) {
      const t = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: pubJwk.kid }).sign(new TextEncoder().encode(secret));
      await refused('/guarded', t);
      await refused('/guarded-hs', t);
    }
  });

  test('expired, and not yet valid (nbf in the future)', async () => {
    await refused('/guarded', await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access', expiresIn: -30 }));
    const now = Math.floor(Date.now() / 1000);
    await refused('/guarded', await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access', extraClaims: { nbf: now + 3600 } }));
    await refused('/guarded', await signOwn({}, claims({ iat: now + 3600 })));
  });

  test('wrong issuer (401) and wrong audience (403 with audience_required)', async () => {
    await refused('/guarded', await env.idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid kong_api_access', extraClaims: { iss: 'https://evil.example/realms/demo' } }));
    await refused('/guarded', await signOwn({}, claims({ iss: 'https://evil.example' })));
    await refused('/guarded-aud', await signOwn({}, claims({ aud: 'someone-else' })), 403);
  });

  test('tampered payload (scope added after signing)', async () => {
    const t = await env.idp.issueAccessToken({ username: 'Blog_without_scope', scope: 'openid' });
    const [h, p, s] = t.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    payload.scope = 'openid kong_api_access';
    await refused('/guarded', `${h}.${b64(payload)}.${s}`);
  });

  test('unknown kid (signed by a key nobody trusts)', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const t = await new SignJWT(claims({ iss: env.idp.issuer })).setProtectedHeader({ alg: 'RS256', kid: 'not-a-known-kid' }).sign(privateKey);
    await refused('/guarded', t);
    const noKid = await new SignJWT(claims({ iss: env.idp.issuer })).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    await refused('/guarded', noKid);
  });

  test('jku, x5u and embedded jwk headers are never followed, even on an otherwise valid token', async () => {
    await refused('/guarded', await signOwn({ jku: jwksUrl }, claims()));
    await refused('/guarded', await signOwn({ x5u: 'https://evil.example/cert.pem' }, claims()));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const embedded = await exportJWK(publicKey);
    const selfSigned = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', jwk: embedded }).sign(privateKey);
    await refused('/guarded', selfSigned);
    await refused('/guarded', await signOwn({ jwk: embedded }, claims()));
  });

  test('crit with an extension we do not understand', async () => {
    // jose refuses to produce such a token, so it is signed by hand (RS256 = RSASSA-PKCS1-v1_5 SHA-256).
    const input = `${b64({ alg: 'RS256', kid: ownKid, crit: ['exp-ext'], 'exp-ext': true })}.${b64(claims())}`;
    const sig = sign('sha256', Buffer.from(input), ownKey).toString('base64url');
    await refused('/guarded', `${input}.${sig}`);
  });

  test('oversized token', async () => {
    await refused('/guarded', await signOwn({}, claims({ padding: 'x'.repeat(20_000) })));
  });

  test('garbage that is not a JWT at all', async () => {
    await refused('/guarded', 'not.a.jwt');
    await refused('/guarded', 'opaque-token-value');
    await refused('/guarded', `${b64({ alg: 'RS256' })}.%%%.${'a'.repeat(10)}`);
  });
});
