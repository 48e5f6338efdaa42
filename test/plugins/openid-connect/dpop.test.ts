/**
 * DPoP (RFC 9449) on a real gateway with the real demo IdP issuing
 * DPoP-bound tokens (`cnf.jkt`): a correct proof passes; forged, replayed and
 * misdirected proofs are refused with 401, a `WWW-Authenticate: DPoP`
 * challenge naming the accepted algorithms, and 0 upstream hits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { startOidcEnv, type OidcEnv } from './env.ts';
import { boundToken, dpopKey, proof, type DpopKey } from './dpop-helpers.ts';

let env: OidcEnv;
let key: DpopKey;
let other: DpopKey;
let token: string;
let url: string;

const BASE = { client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'] };

before(async () => {
  env = await startOidcEnv();
  await env.protect('dpop', { ...BASE, proof_of_possession_dpop: 'strict' });
  await env.protect('dpop-optional', { ...BASE, proof_of_possession_dpop: 'optional' });
  await env.protect('dpop-nonce', { ...BASE, proof_of_possession_dpop: 'strict', dpop_use_nonce: true });
  key = await dpopKey();
  other = await dpopKey();
  token = await boundToken(env.idp, key);
  url = `${env.gw.proxyUrl}/dpop`;
});

after(async () => {
  await env?.close();
});

async function send(path: string, headers: Record<string, string>, method = 'GET') {
  return env.call(path, { method, headers });
}

/** Asserts a refusal: 401, a DPoP challenge with algs and the given error, and no upstream hit. */
async function refused(headers: Record<string, string>, error: string, path = '/dpop', method = 'GET'): Promise<Headers> {
  const before = env.echo.requestCount();
  const r = await send(path, headers, method);
  assert.equal(r.status, 401, r.text);
  const challenge = r.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^DPoP realm="/);
  assert.match(challenge, new RegExp(`error="${error}"`));
  assert.match(challenge, /algs="[^"]*ES256[^"]*"/);
  assert.equal(env.echo.requestCount(), before, 'the upstream must not be reached');
  return r.headers;
}

describe('DPoP: a correct proof passes', () => {
  test('a DPoP-bound token with a fresh proof for this method and URL reaches the upstream', async () => {
    const before = env.echo.requestCount();
    const r = await send('/dpop', { authorization: `DPoP ${token}`, dpop: await proof(key, { htu: url, token }) });
    assert.equal(r.status, 200, r.text);
    assert.equal(env.echo.requestCount(), before + 1);
  });

  test('the proof URL ignores the query and normalises case and default ports', async () => {
    const r = await send('/dpop?x=1', { authorization: `DPoP ${token}`, dpop: await proof(key, { htu: url.replace('http://', 'HTTP://') + '#frag', token }) });
    assert.equal(r.status, 200, r.text);
  });

  test('optional: an unbound bearer token is not asked for a proof; a bound one is', async () => {
    const plain = await env.idp.issueAccessToken({ clientId: 'kong' });
    assert.equal((await send('/dpop-optional', { authorization: `Bearer ${plain}` })).status, 200);
    await refused({ authorization: `Bearer ${token}` }, 'invalid_token', '/dpop-optional');
  });
});

describe('DPoP: hostile proofs are refused and never reach the upstream', () => {
  const auth = () => ({ authorization: `DPoP ${token}` });

  test('1. no proof at all', async () => {
    await refused(auth(), 'invalid_dpop_proof');
  });
  test('2. a bound token sent with the Bearer scheme (proof attached)', async () => {
    await refused({ authorization: `Bearer ${token}`, dpop: await proof(key, { htu: url, token }) }, 'invalid_token');
  });
  test('3. typ is not dpop+jwt', async () => {
    await refused({ ...auth(), dpop: await proof(key, { htu: url, token, header: { typ: 'JWT' } }) }, 'invalid_dpop_proof');
  });
  test('4. alg none (unsigned proof)', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const p = `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: key.jwk })}.${b64({ jti: 'x4', htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000), ath: createHash('sha256').update(token).digest('base64url') })}.`;
    await refused({ ...auth(), dpop: p }, 'invalid_dpop_proof');
  });
  test('5. a symmetric alg (HS256, key in the header as oct)', async () => {
    const secret = new TextEncoder().encode('0123456789abcdef0123456789abcdef');
    const p = await new SignJWT({ jti: 'x5', htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } } as { alg: string })
      .sign(secret);
    await refused({ ...auth(), dpop: p }, 'invalid_dpop_proof');
  });
  test('6. signed by another key than the one in its header', async () => {
    await refused({ ...auth(), dpop: await proof(key, { htu: url, token, signWith: other }) }, 'invalid_dpop_proof');
  });
  test('7. a valid proof by another key (the token is bound to a different key)', async () => {
    await refused({ ...auth(), dpop: await proof(other, { htu: url, token }) }, 'invalid_token');
  });
  test('8. a proof for another method', async () => {
    await refused({ ...auth(), dpop: await proof(key, { htu: url, token, htm: 'POST' }) }, 'invalid_dpop_proof');
  });
  test('9. a proof for another URL', async () => {
    await refused({ ...auth(), dpop: await proof(key, { htu: `${env.gw.proxyUrl}/elsewhere`, token }) }, 'invalid_dpop_proof');
  });
  test('10. a proof older than dpop_proof_lifetime', async () => {
    await refused({ ...auth(), dpop: await proof(key, { htu: url, token, iat: Math.floor(Date.now() / 1000) - 400 }) }, 'invalid_dpop_proof');
  });
  test('11. a proof from the future', async () => {
    await refused({ ...auth(), dpop: await proof(key, { htu: url, token, iat: Math.floor(Date.now() / 1000) + 600 }) }, 'invalid_dpop_proof');
  });
  test('12. no ath / the ath of another token', async () => {
    await refused({ ...auth(), dpop: await proof(key, { htu: url, token: null }) }, 'invalid_dpop_proof');
    await refused({ ...auth(), dpop: await proof(key, { htu: url, token: `${token}x` }) }, 'invalid_dpop_proof');
  });
  test('13. a replayed proof (same jti): the first use passes, the second is refused', async () => {
    const p = await proof(key, { htu: url, token });
    assert.equal((await send('/dpop', { ...auth(), dpop: p })).status, 200);
    await refused({ ...auth(), dpop: p }, 'invalid_dpop_proof');
  });
  test('14. a private key in the jwk header', async () => {
    const { exportJWK } = await import('jose');
    const priv = await exportJWK(key.privateKey);
    await refused({ ...auth(), dpop: await proof(key, { htu: url, token, header: { jwk: priv } }) }, 'invalid_dpop_proof');
  });
  test('15. two DPoP headers', async () => {
    const p1 = await proof(key, { htu: url, token });
    const p2 = await proof(key, { htu: url, token });
    await refused({ ...auth(), dpop: `${p1}, ${p2}` }, 'invalid_dpop_proof');
  });
  test('16. a tampered proof payload (htu changed after signing)', async () => {
    const p = await proof(key, { htu: `${env.gw.proxyUrl}/elsewhere`, token });
    const [h, , s] = p.split('.');
    const body = Buffer.from(JSON.stringify({ jti: 'x16', htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000), ath: createHash('sha256').update(token).digest('base64url') })).toString('base64url');
    await refused({ ...auth(), dpop: `${h}.${body}.${s}` }, 'invalid_dpop_proof');
  });
  test('17. strict: an unbound token, as Bearer or with the DPoP scheme', async () => {
    const plain = await env.idp.issueAccessToken({ clientId: 'kong' });
    await refused({ authorization: `Bearer ${plain}` }, 'invalid_token');
    await refused({ authorization: `DPoP ${plain}`, dpop: await proof(key, { htu: url, token: plain }) }, 'invalid_token');
  });
  test('18. garbage in the DPoP header', async () => {
    await refused({ ...auth(), dpop: 'not-a-jwt' }, 'invalid_dpop_proof');
  });
});

describe('DPoP nonces (dpop_use_nonce)', () => {
  test('a proof without a nonce gets use_dpop_nonce and a DPoP-Nonce; with it the request passes', async () => {
    const u = `${env.gw.proxyUrl}/dpop-nonce`;
    const h = await refused({ authorization: `DPoP ${token}`, dpop: await proof(key, { htu: u, token }) }, 'use_dpop_nonce', '/dpop-nonce');
    const nonce = h.get('dpop-nonce');
    assert.ok(nonce !== null && nonce.length > 20, 'a DPoP-Nonce header comes with the challenge');
    await refused({ authorization: `DPoP ${token}`, dpop: await proof(key, { htu: u, token, nonce: `${nonce![0] === 'A' ? 'B' : 'A'}${nonce!.slice(1)}` }) }, 'use_dpop_nonce', '/dpop-nonce');
    const r = await send('/dpop-nonce', { authorization: `DPoP ${token}`, dpop: await proof(key, { htu: u, token, nonce: nonce! }) });
    assert.equal(r.status, 200, r.text);
  });
});

describe('DPoP configuration', () => {
  test('with proof_of_possession_auth_methods_validation (default), methods DPoP cannot check are refused by name', async () => {
    const r = await env.gw.admin('POST', '/plugins', { name: 'openid-connect', config: { issuer: env.idp.issuer, auth_methods: ['bearer', 'password'], proof_of_possession_dpop: 'strict' } });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body), /auth_methods.*password/);
    const off = await env.gw.admin('POST', '/plugins', { name: 'openid-connect', config: { issuer: env.idp.issuer, auth_methods: ['bearer', 'password'], proof_of_possession_dpop: 'strict', proof_of_possession_auth_methods_validation: false } });
    assert.equal(off.status, 201, JSON.stringify(off.body));
    await env.gw.admin('DELETE', `/plugins/${(off.body as { id: string }).id}`);
  });
});
