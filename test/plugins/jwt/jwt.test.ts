/**
 * jwt end to end through the proxy: consumers with HS256, RS256 and ES256
 * credentials created over the Admin API, tokens signed with jose, Kong's
 * 401 bodies and challenges, and hostile tokens (alg none, algorithm
 * confusion, unknown iss, tampered payload, expired, nbf ahead, huge).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';

let gw: TestGateway;
let echo: Echo;
let bob: { id: string };
let guest: { id: string };

const HS_SECRET = 'a-very-long-hs256-secret-of-thirty-two-bytes!';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;

const now = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function hs(payload: JWTPayload, secret: string | Uint8Array = HS_SECRET, alg = 'HS256'): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);
}

async function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${gw.proxyUrl}${path}`, { method, headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

before(async () => {
  echo = await startEcho();
  gw = await startGateway();
  assert.equal((await gw.admin('POST', '/services', { name: 's', url: echo.url })).status, 201);
  for (const r of ['plain', 'claims', 'anon', 'b64', 'kid', 'custom']) assert.equal((await gw.admin('POST', '/services/s/routes', { name: r, paths: [`/${r}`] })).status, 201);
  bob = (await gw.admin('POST', '/consumers', { username: 'bob' })).body;
  guest = (await gw.admin('POST', '/consumers', { username: 'guest' })).body;
  assert.equal((await gw.admin('POST', '/consumers/bob/jwt', { key: 'hs-issuer', secret: HS_SECRET })).status, 201);
  assert.equal((await gw.admin('POST', '/consumers/bob/jwt', { key: 'rs-issuer', algorithm: 'RS256', rsa_public_key: rsaPem })).status, 201);
  assert.equal((await gw.admin('POST', '/consumers/bob/jwt', { key: 'es-issuer', algorithm: 'ES256', rsa_public_key: ecPem })).status, 201);
  assert.equal((await gw.admin('POST', '/consumers/bob/jwt', { key: 'b64-issuer', secret: Buffer.from('raw secret bytes \u0001\u0002').toString('base64') })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/plain/plugins', { name: 'jwt' })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/claims/plugins', { name: 'jwt', config: { claims_to_verify: ['exp', 'nbf'], maximum_expiration: 3600, realm: 'api' } })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/anon/plugins', { name: 'jwt', config: { anonymous: guest.id, run_on_preflight: false } })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/b64/plugins', { name: 'jwt', config: { secret_is_base64: true } })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/kid/plugins', { name: 'jwt', config: { key_claim_name: 'kid' } })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/custom/plugins', { name: 'jwt', config: { uri_param_names: ['token'], cookie_names: ['jwt_cookie'], header_names: ['x-token'] } })).status, 201);
  await gw.settle();
});

after(async () => {
  await gw.close();
  await echo.close();
});

describe('jwt: configuration', () => {
  it('defaults are Kong 3.x', async () => {
    const plugin = (await gw.admin('GET', '/routes/plain/plugins')).body.data[0];
    assert.deepEqual(plugin.config, {
      uri_param_names: ['jwt'], cookie_names: [], key_claim_name: 'iss', secret_is_base64: false, claims_to_verify: null,
      anonymous: null, run_on_preflight: true, maximum_expiration: 0, header_names: ['authorization'], realm: null,
    });
  });
  it('maximum_expiration needs claims_to_verify to contain exp (Kong entity check)', async () => {
    const res = await gw.admin('POST', '/schemas/plugins/validate', { name: 'jwt', config: { maximum_expiration: 10, claims_to_verify: ['nbf'] } });
    assert.equal(res.status, 400);
    assert.equal(res.body.fields.config.claims_to_verify, 'expected to contain: exp');
    assert.equal((await gw.admin('POST', '/schemas/plugins/validate', { name: 'jwt', config: { maximum_expiration: 31536001, claims_to_verify: ['exp'] } })).status, 400);
    assert.equal((await gw.admin('POST', '/schemas/plugins/validate', { name: 'jwt', config: { claims_to_verify: ['iat'] } })).status, 400);
  });
});

describe('jwt: valid tokens', () => {
  it('HS256 in the Authorization header reaches the upstream as the consumer', async () => {
    const res = await get('/plain/x', { ...bearer(await hs({ iss: 'hs-issuer' })), 'x-consumer-id': 'forged', 'x-anonymous-consumer': 'true' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const reply = res.body as EchoReply;
    assert.equal(reply.headers['x-consumer-id'], bob.id);
    assert.equal(reply.headers['x-consumer-username'], 'bob');
    assert.equal(reply.headers['x-credential-identifier'], 'hs-issuer');
    assert.equal(reply.headers['x-anonymous-consumer'], undefined);
  });
  it('RS256 and ES256 verified with the credential public key', async () => {
    const rs = await new SignJWT({ iss: 'rs-issuer' }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
    assert.equal((await get('/plain/x', bearer(rs))).status, 200);
    const es = await new SignJWT({ iss: 'es-issuer' }).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey);
    assert.equal((await get('/plain/x', bearer(es))).status, 200);
  });
  it('the token in the jwt query argument; the same token twice counts once', async () => {
    const t = await hs({ iss: 'hs-issuer' });
    assert.equal((await get(`/plain/x?jwt=${t}`)).status, 200);
    assert.equal((await get(`/plain/x?jwt=${t}`, bearer(t))).status, 200);
  });
  it('configured uri_param_names, cookie_names and header_names', async () => {
    const t = await hs({ iss: 'hs-issuer' });
    assert.equal((await get(`/custom/x?token=${t}`)).status, 200);
    assert.equal((await get('/custom/x', { cookie: `a=b; jwt_cookie=${t}` })).status, 200);
    assert.equal((await get('/custom/x', { 'x-token': `bearer ${t}` })).status, 200);
    assert.equal((await get('/custom/x', bearer(t))).status, 401, 'authorization is not among header_names');
  });
  it('secret_is_base64 decodes the stored secret', async () => {
    const t = await hs({ iss: 'b64-issuer' }, Buffer.from('raw secret bytes \u0001\u0002'));
    assert.equal((await get('/b64/x', bearer(t))).status, 200);
  });
  it('key_claim_name read from the token header when not in the claims (kid)', async () => {
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'hs-issuer' }).sign(new TextEncoder().encode(HS_SECRET));
    assert.equal((await get('/kid/x', bearer(t))).status, 200);
  });
});

describe('jwt: Kong failures', () => {
  const expect401 = async (path: string, headers: Record<string, string>, body: unknown, challenge = 'Bearer error="invalid_token"') => {
    const res = await get(path, headers);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, body);
    assert.equal(res.headers.get('www-authenticate'), challenge);
  };
  it('no token: Unauthorized with a bare Bearer challenge', async () => {
    await expect401('/plain/x', {}, { message: 'Unauthorized' }, 'Bearer');
    await expect401('/plain/x', { authorization: 'Basic abc' }, { message: 'Unauthorized' }, 'Bearer');
    await expect401('/claims/x', {}, { message: 'Unauthorized' }, 'Bearer realm="api"');
  });
  it('two different tokens: Multiple tokens provided', async () => {
    await expect401(`/plain/x?jwt=${await hs({ iss: 'hs-issuer' })}`, bearer(await hs({ iss: 'hs-issuer', n: 1 })), { message: 'Multiple tokens provided' });
  });
  it('malformed tokens: Bad token', async () => {
    await expect401('/plain/x', bearer('not-a-jwt'), { message: 'Bad token; invalid JSON' });
    await expect401('/plain/x', bearer(`${b64('{nope')}.${b64({ iss: 'hs-issuer' })}.sig`), { message: 'Bad token; invalid JSON' });
    await expect401('/plain/x', bearer(`${b64({ alg: 'HS999' })}.${b64({ iss: 'hs-issuer' })}.sig`), { message: 'Bad token; invalid alg' });
  });
  it('alg none is refused whatever the signature', async () => {
    await expect401('/plain/x', bearer(`${b64({ alg: 'none' })}.${b64({ iss: 'hs-issuer' })}.`), { message: 'Bad token; invalid alg' });
    await expect401('/plain/x', bearer(`${b64({ alg: 'none' })}.${b64({ iss: 'hs-issuer' })}`), { message: 'Bad token; invalid JSON' });
  });
  it('missing, empty and unknown key claim', async () => {
    await expect401('/plain/x', bearer(await hs({ sub: 'x' })), { message: "No mandatory 'iss' in claims" });
    await expect401('/plain/x', bearer(await hs({ iss: '' })), { message: "Invalid 'iss' in claims" });
    await expect401('/plain/x', bearer(await hs({ iss: 'nobody' })), { message: "No credentials found for given 'iss'" });
    await expect401('/kid/x', bearer(await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'wrong' }).sign(new TextEncoder().encode(HS_SECRET))), { message: "No credentials found for given 'kid'" });
  });
  it('algorithm confusion: HS256 signed with the RSA public key as secret is refused', async () => {
    await expect401('/plain/x', bearer(await hs({ iss: 'rs-issuer' }, rsaPem)), { message: 'Invalid algorithm' });
    // and a token claiming RS256 for an HS256 credential
    const rs = await new SignJWT({ iss: 'hs-issuer' }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
    await expect401('/plain/x', bearer(rs), { message: 'Invalid algorithm' });
    await expect401('/plain/x', bearer(await hs({ iss: 'hs-issuer' }, HS_SECRET, 'HS512')), { message: 'Invalid algorithm' });
  });
  it('wrong secret, wrong key, tampered payload: Invalid signature', async () => {
    await expect401('/plain/x', bearer(await hs({ iss: 'hs-issuer' }, 'another secret of enough length!!')), { message: 'Invalid signature' });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect401('/plain/x', bearer(await new SignJWT({ iss: 'rs-issuer' }).setProtectedHeader({ alg: 'RS256' }).sign(other.privateKey)), { message: 'Invalid signature' });
    const [h, , s] = (await hs({ iss: 'hs-issuer', admin: false })).split('.');
    await expect401('/plain/x', bearer(`${h}.${b64({ iss: 'hs-issuer', admin: true })}.${s}`), { message: 'Invalid signature' });
    // jku / x5u are never followed: the credential's key is the only key
    const jku = await new SignJWT({ iss: 'rs-issuer' }).setProtectedHeader({ alg: 'RS256', jku: 'http://127.0.0.1:1/keys' }).sign(other.privateKey);
    await expect401('/plain/x', bearer(jku), { message: 'Invalid signature' });
  });
  it('claims_to_verify: expired, not yet valid, not a number; maximum_expiration', async () => {
    await expect401('/claims/x', bearer(await hs({ iss: 'hs-issuer', exp: now() - 10 })), { exp: 'token expired', nbf: 'must be a number' }, 'Bearer realm="api" error="invalid_token"');
    await expect401('/claims/x', bearer(await hs({ iss: 'hs-issuer', exp: now() + 60, nbf: now() + 600 })), { nbf: 'token not valid yet' }, 'Bearer realm="api" error="invalid_token"');
    await expect401('/claims/x', bearer(await hs({ iss: 'hs-issuer', exp: now() + 7200, nbf: now() - 1 })), { exp: 'exceeds maximum allowed expiration' }, 'Bearer realm="api" error="invalid_token"');
    assert.equal((await get('/claims/x', bearer(await hs({ iss: 'hs-issuer', exp: now() + 60, nbf: now() - 1 })))).status, 200);
    // without claims_to_verify an expired token is accepted, as Kong
    assert.equal((await get('/plain/x', bearer(await hs({ iss: 'hs-issuer', exp: now() - 10 })))).status, 200);
  });
  it('a huge token is refused without harm', async () => {
    const big = `${b64({ alg: 'HS256' })}.${b64({ iss: 'hs-issuer', pad: 'x'.repeat(6000) })}.${'A'.repeat(4000)}`;
    await expect401('/plain/x', bearer(big), { message: 'Invalid signature' });
    const res = await get('/plain/x', bearer('A'.repeat(60000)));
    assert.ok(res.status === 401 || res.status === 431 || res.status === 400, String(res.status));
  });
});

describe('jwt: anonymous and preflight', () => {
  it('a failure proceeds as the anonymous consumer', async () => {
    const res = await get('/anon/x', bearer('garbage'));
    assert.equal(res.status, 200);
    assert.equal((res.body as EchoReply).headers['x-consumer-id'], guest.id);
    assert.equal((res.body as EchoReply).headers['x-anonymous-consumer'], 'true');
  });
  it('run_on_preflight false lets OPTIONS through unauthenticated', async () => {
    const res = await get('/anon/x', {}, 'OPTIONS');
    assert.equal(res.status, 200);
    assert.equal((res.body as EchoReply).headers['x-consumer-id'], undefined);
    assert.equal((await get('/plain/x', {}, 'OPTIONS')).status, 401);
  });
});
