/**
 * Certificate-bound tokens in the shape users run: `portcullis start
 * --workers 2` with an `ssl` proxy listener (KONG_PROXY_LISTEN), a global
 * tls-handshake-modifier and openid-connect `proof_of_possession_mtls:
 * strict`, the token issued by the real IdP over mutual TLS. Every new connection (spread over both workers) asks for the
 * client certificate — TLS 1.2 and 1.3, clients that send no SNI — and the
 * bound token passes only with its certificate. Deleting the modifier stops
 * the request on every worker (the handshake follows the live configuration).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { startIdp, type Idp } from '../../helpers/idp.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { certificateBoundToken, issue, makeCa, tlsGet, type Pem } from '../../helpers/tls-certs.ts';

let idp: Idp;
let echo: Echo;
let gw: ClusterGateway;
let tlsPort: number;
let alice: Pem;
let mallory: Pem;
let token: string;
let modifierId: string;

before(async () => {
  const ca = await makeCa();
  [alice, mallory] = await Promise.all([issue(ca, 'alice', 'client'), issue(ca, 'mallory', 'client')]);
  [idp, echo] = await Promise.all([startIdp({ mtlsPort: 0 }), startEcho()]);
  // KONG_PROXY_LISTEN with a plain and an `ssl` listener (the default certificate is generated at start).
  gw = await startClusterGateway({ workers: 2, ssl: true });
  tlsPort = gw.proxyTlsPort!;
  await gw.waitWorkers(2);
  let r = await gw.admin('POST', '/services', { name: 'svc', url: `${echo.url}/anything` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', '/services/svc/routes', { name: 'api', paths: ['/api'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', '/routes/api/plugins', {
    name: 'openid-connect',
    config: { issuer: idp.issuer, client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'], proof_of_possession_mtls: 'strict' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', '/plugins', { name: 'tls-handshake-modifier', config: { tls_client_certificate: 'REQUEST' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  modifierId = (r.body as { id: string }).id;
  await gw.settle();
  token = await certificateBoundToken(idp.mtlsTokenEndpoint!, alice); // bound by the IdP over mutual TLS
});

after(async () => {
  await gw?.close();
  await Promise.all([idp?.close(), echo?.close()]);
});

const auth = () => ({ authorization: `Bearer ${token}` });

test('--workers 2: the bound token passes on every new connection with its certificate (TLS 1.2 and 1.3, no SNI)', async () => {
  const before = echo.requestCount();
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    for (let i = 0; i < 6; i++) {
      const r = await tlsGet(tlsPort, '/api', { client: alice, headers: auth(), maxVersion });
      assert.equal(r.status, 200, `${maxVersion} #${i}: ${r.body}`);
    }
  }
  assert.equal(echo.requestCount(), before + 12);
  assert.ok(gw.workerPids().length >= 2);
});

test('--workers 2: without the certificate, with another one, or over plain HTTP: 401 invalid_token, 0 upstream hits', async () => {
  const before = echo.requestCount();
  for (let i = 0; i < 4; i++) {
    for (const r of [await tlsGet(tlsPort, '/api', { headers: auth() }), await tlsGet(tlsPort, '/api', { client: mallory, headers: auth() })]) {
      assert.equal(r.status, 401, r.body);
      assert.match(String(r.headers['www-authenticate']), /^Bearer realm="[^"]+", error="invalid_token"/);
    }
    const plain = await gw.get('/api', auth());
    assert.equal(plain.status, 401, plain.body);
  }
  assert.equal(echo.requestCount(), before);
});

test('--workers 2: once the tls-handshake-modifier is deleted, no worker asks for the certificate any more', async () => {
  const r = await gw.admin('DELETE', `/plugins/${modifierId}`);
  assert.equal(r.status, 204);
  await gw.settle();
  const before = echo.requestCount();
  for (let i = 0; i < 6; i++) {
    const res = await tlsGet(tlsPort, '/api', { client: alice, headers: auth() });
    assert.equal(res.status, 401, `connection ${i}: the certificate must not have been asked for`);
  }
  assert.equal(echo.requestCount(), before);
});
