/**
 * Certificate-bound access tokens (RFC 8705, `proof_of_possession_mtls`) on a
 * real gateway: the real demo IdP (oidc-provider, `features.mTLS`) issues a
 * token bound to a client certificate made at test time (CA, server and
 * client certificates from the openssl CLI) over its mutual-TLS token
 * endpoint; edge cases use tokens signed with the IdP's keys, a TLS listener that asks for the
 * client certificate where tls-handshake-modifier applies (by SNI), and the
 * echo upstream counting what reaches it. The right certificate passes; no
 * certificate, another certificate, plain HTTP, an unbound token in strict
 * mode and forged tokens are refused with Kong's invalid-token 401 and 0
 * upstream hits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startOidcEnv, type OidcEnv } from './env.ts';
import { certificateBoundToken, issue, makeCa, tlsGet, x5tS256, type Pem, type TlsReply } from '../../helpers/tls-certs.ts';
import { decodeJwtPayload } from '../../helpers/idp.ts';

let env: OidcEnv;
let ca: Pem;
let alice: Pem; // the client the tokens are bound to
let mallory: Pem; // another client of the same CA
let bound: string; // bound to alice
let tlsPort: number;

const BASE = { client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'] };

/** One request on a fresh TLS connection to the gateway (SNI api.test unless told), the gateway verified with the test CA. */
function tls(path: string, o: { servername?: string; client?: Pem; headers?: Record<string, string> } = {}): Promise<TlsReply> {
  return tlsGet(tlsPort, path, { ...o, servername: o.servername ?? 'api.test', ca: ca.cert });
}

/** Asserts Kong's invalid-token refusal and that the upstream was not reached. */
async function refused(send: () => Promise<{ status: number; challenge: string; body: string }>): Promise<void> {
  const before = env.echo.requestCount();
  const r = await send();
  assert.equal(r.status, 401, r.body);
  assert.match(r.challenge, /^Bearer realm="[^"]+", error="invalid_token"/);
  assert.deepEqual(JSON.parse(r.body), { message: 'Unauthorized' });
  assert.equal(env.echo.requestCount(), before, 'the upstream must not be reached');
}

const viaTls = (path: string, o: Parameters<typeof tls>[1]) => async () => {
  const r = await tls(path, o);
  return { status: r.status, challenge: String(r.headers['www-authenticate'] ?? ''), body: r.body };
};
const viaHttp = (path: string, headers: Record<string, string>) => async () => {
  const r = await env.call(path, { headers });
  return { status: r.status, challenge: r.headers.get('www-authenticate') ?? '', body: r.text };
};
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function passes(path: string, o: Parameters<typeof tls>[1]): Promise<TlsReply> {
  const before = env.echo.requestCount();
  const r = await tls(path, o);
  assert.equal(r.status, 200, r.body);
  assert.equal(env.echo.requestCount(), before + 1);
  return r;
}

before(async () => {
  env = await startOidcEnv({ idp: { mtlsPort: 0 } });
  ca = await makeCa();
  const server = await issue(ca, 'api.test', 'server', ['api.test', 'other.test']);
  [alice, mallory] = await Promise.all([issue(ca, 'alice', 'client'), issue(ca, 'mallory', 'client')]);
  tlsPort = Number(new URL(env.gw.proxyHttpsUrl).port);

  const gw = env.gw;
  let r = await gw.admin('POST', '/certificates', { cert: server.cert, key: server.key, snis: ['api.test', 'other.test'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  // The client certificate is requested on handshakes for api.test only: the route holding the plugin names it.
  await env.protect('bound', { ...BASE, proof_of_possession_mtls: 'strict' }, { snis: ['api.test'] });
  r = await gw.admin('POST', '/routes/route-bound/plugins', { name: 'tls-handshake-modifier' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.config.tls_client_certificate, 'REQUEST');
  assert.deepEqual(r.body.protocols, ['grpcs', 'https']);
  // Routes without snis (reachable over plain HTTP too); the handshake decision is the connection's SNI.
  // (No path is a prefix of another: an https-only SNI condition does not constrain plain HTTP, as in Kong.)
  await env.protect('anyname', { ...BASE, proof_of_possession_mtls: 'strict' });
  await env.protect('optional', { ...BASE, proof_of_possession_mtls: 'optional' });
  await env.protect('introspect', { ...BASE, auth_methods: ['introspection'], proof_of_possession_mtls: 'strict' });
  await env.protect('session', { ...BASE, auth_methods: ['bearer', 'session'], proof_of_possession_mtls: 'strict' });
  await gw.settle();

  // Issued by the IdP over mutual TLS to client kong-mtls: the IdP computed the binding from the connection.
  bound = await certificateBoundToken(env.idp.mtlsTokenEndpoint!, alice);
  assert.equal((decodeJwtPayload(bound).cnf as Record<string, string>)['x5t#S256'], x5tS256(alice));
});

after(async () => {
  await env?.close();
});

describe('proof_of_possession_mtls strict: the certificate the token is bound to passes', () => {
  test('a bound token on a TLS connection presenting that client certificate reaches the upstream', async () => {
    const r = await passes('/bound', { client: alice, headers: bearer(bound) });
    assert.equal(JSON.parse(r.body).headers.authorization, `Bearer ${bound}`);
  });

  test('a route without snis is covered by the handshake of an SNI the modifier applies to', async () => {
    await passes('/anyname', { client: alice, headers: bearer(bound) });
  });

  test('introspection: cnf in the introspection response is checked the same way', async () => {
    await passes('/introspect', { client: alice, headers: bearer(bound) });
    await refused(viaTls('/introspect', { client: mallory, headers: bearer(bound) }));
    await refused(viaTls('/introspect', { headers: bearer(bound) }));
  });
});

describe('proof_of_possession_mtls strict: everything else is refused with 401 invalid_token and 0 upstream hits', () => {
  test('no client certificate on the connection', async () => {
    await refused(viaTls('/bound', { headers: bearer(bound) }));
  });

  test('another client certificate (same CA)', async () => {
    await refused(viaTls('/bound', { client: mallory, headers: bearer(bound) }));
  });

  test('plain HTTP (no TLS at all)', async () => {
    await refused(viaHttp('/anyname', bearer(bound)));
  });

  test('an SNI no tls-handshake-modifier covers: the certificate is not asked for, so none is there', async () => {
    await refused(viaTls('/anyname', { servername: 'other.test', client: alice, headers: bearer(bound) }));
  });

  test('a token without cnf (unbound), even with a client certificate', async () => {
    const plain = await env.idp.issueAccessToken({});
    await refused(viaTls('/bound', { client: alice, headers: bearer(plain) }));
  });

  test('a forged binding: the payload rebound to another certificate keeps the old signature', async () => {
    const [h, , sig] = bound.split('.');
    const claims = { ...decodeJwtPayload(bound), cnf: { 'x5t#S256': x5tS256(mallory) } };
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
    await refused(viaTls('/bound', { client: mallory, headers: bearer(forged) }));
  });

  test('a forged token signed by a key the IdP does not have', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const claims = { ...decodeJwtPayload(bound), cnf: { 'x5t#S256': x5tS256(mallory) } };
    const kid = (await exportJWK(publicKey)).n!.slice(0, 8);
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
    await refused(viaTls('/bound', { client: mallory, headers: bearer(forged) }));
  });

  test('a cnf that is not a string thumbprint counts as unbound', async () => {
    const odd = await env.idp.issueAccessToken({ extraClaims: { cnf: { 'x5t#S256': 42, jkt: x5tS256(alice) } } });
    await refused(viaTls('/bound', { client: alice, headers: bearer(odd) }));
  });
});

describe('proof_of_possession_mtls optional', () => {
  test('an unbound token is not checked: it passes without a certificate, even over plain HTTP', async () => {
    const plain = await env.idp.issueAccessToken({});
    const before = env.echo.requestCount();
    const r = await env.call('/optional', { headers: bearer(plain) });
    assert.equal(r.status, 200, r.text);
    assert.equal(env.echo.requestCount(), before + 1);
  });

  test('a bound token is checked: right certificate passes, none or another is refused', async () => {
    await passes('/optional', { client: alice, headers: bearer(bound) });
    await refused(viaTls('/optional', { headers: bearer(bound) }));
    await refused(viaTls('/optional', { client: mallory, headers: bearer(bound) }));
    await refused(viaHttp('/optional', bearer(bound)));
  });
});

describe('a session granted with a bound token stays bound to its certificate', () => {
  test('the session cookie works only on connections presenting the same certificate', async () => {
    const user = await env.idp.issueAccessToken({ username: 'Blog_with_scope', extraClaims: { cnf: { 'x5t#S256': x5tS256(alice) } } });
    const first = await passes('/session', { client: alice, headers: bearer(user) });
    const setCookie = first.headers['set-cookie'] ?? [];
    assert.ok(setCookie.length > 0, 'a session cookie is issued');
    const cookie = setCookie.map((c) => c.split(';')[0]).join('; ');
    await passes('/session', { client: alice, headers: { cookie } });
    await refused(viaTls('/session', { headers: { cookie } }));
    await refused(viaTls('/session', { client: mallory, headers: { cookie } }));
    await refused(viaHttp('/session', { cookie }));
  });
});

describe('configuration', () => {
  test('proof_of_possession_mtls with auth methods it cannot check is refused, naming auth_methods (Kong)', async () => {
    const r = await env.gw.admin('POST', '/plugins', { name: 'openid-connect', config: { issuer: env.idp.issuer, client_id: ['kong'], proof_of_possession_mtls: 'strict' } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(JSON.stringify(r.body.fields), /auth_methods/);
    const off = await env.gw.admin('POST', '/schemas/plugins/validate', {
      name: 'openid-connect',
      config: { issuer: env.idp.issuer, client_id: ['kong'], proof_of_possession_mtls: 'strict', proof_of_possession_auth_methods_validation: false },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
  });

  test('tls-handshake-modifier accepts only REQUEST, and cannot be scoped to a consumer', async () => {
    const bad = await env.gw.admin('POST', '/schemas/plugins/validate', { name: 'tls-handshake-modifier', config: { tls_client_certificate: 'REQUIRE' } });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(JSON.stringify(bad.body), /tls_client_certificate/);
    const c = await env.gw.admin('POST', '/consumers', { username: 'someone' });
    assert.equal(c.status, 201);
    const scoped = await env.gw.admin('POST', '/consumers/someone/plugins', { name: 'tls-handshake-modifier' });
    assert.equal(scoped.status, 400, JSON.stringify(scoped.body));
  });
});
