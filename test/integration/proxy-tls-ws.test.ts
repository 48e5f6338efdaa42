/**
 * TLS on both sides and WebSocket tunnels: the HTTPS listener picks the
 * certificate by SNI from the configuration (falling back to the default
 * certificate), https services are reached with or without verification as
 * configured, and WebSocket upgrades are relayed end to end.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { startUpstream, startWebSocketEcho, type TestUpstream, type WebSocketEcho } from '../helpers/upstream.ts';
import { route, service, snapshot, startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { send } from '../helpers/http-client.ts';
import type { CaCertificateEntity, CertificateEntity, SniEntity } from '../../src/schema/entities/types.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);

async function selfSigned(cn: string): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-test-cert-'));
  try {
    await run('openssl', ['req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn},IP:127.0.0.1`]);
    return { cert: await readFile(join(dir, 'c'), 'utf8'), key: await readFile(join(dir, 'k'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const ts = Math.floor(Date.now() / 1000);
const base = { created_at: ts, updated_at: ts, tags: null };

let proxy: TestProxy;
let plain: TestUpstream;
let tlsUp: TestUpstream;
let ws: WebSocketEcho;

before(async () => {
  const apiCert = await selfSigned('api.test');
  const upstreamCert = await selfSigned('localhost');
  plain = await startUpstream();
  tlsUp = await startUpstream(undefined, upstreamCert);
  ws = await startWebSocketEcho();
  const certificate: CertificateEntity = { id: randomUUID(), ...base, cert: apiCert.cert, key: apiCert.key, cert_alt: null, key_alt: null };
  const sni: SniEntity = { id: randomUUID(), ...base, name: 'api.test', certificate: { id: certificate.id } };
  const ca: CaCertificateEntity = { id: randomUUID(), ...base, cert: upstreamCert.cert, cert_digest: 'x' };
  const svcPlain = service({ host: '127.0.0.1', port: plain.port });
  const svcTls = service({ host: '127.0.0.1', port: tlsUp.port, protocol: 'https' });
  const svcVerifyNoCa = service({ host: '127.0.0.1', port: tlsUp.port, protocol: 'https', tls_verify: true, retries: 0 });
  const svcVerifyCa = service({ host: 'localhost', port: tlsUp.port, protocol: 'https', tls_verify: true, ca_certificates: [ca.id] });
  const svcWs = service({ host: '127.0.0.1', port: ws.port });
  proxy = await startTestProxy(
    snapshot({
      services: [svcPlain, svcTls, svcVerifyNoCa, svcVerifyCa, svcWs],
      routes: [
        route(svcPlain, { paths: ['/plain'] }),
        route(svcTls, { paths: ['/tls'] }),
        route(svcVerifyNoCa, { paths: ['/verify-no-ca'] }),
        route(svcVerifyCa, { paths: ['/verify-ca'] }),
        route(svcWs, { paths: ['/ws'] }),
      ],
      certificates: [certificate],
      snis: [sni],
      ca_certificates: [ca],
    }),
    { ssl: true },
  );
});

after(async () => {
  await proxy.close();
  await plain.close();
  await tlsUp.close();
  await ws.close();
});

function peerCertificateCN(servername: string): Promise<{ cn: string; status: number }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: proxy.httpsPort!, path: '/plain/x', servername, rejectUnauthorized: false, agent: false, headers: { host: servername } }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerCertificate();
      res.resume();
      res.on('end', () => resolve({ cn: String(cert.subject.CN), status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the HTTPS listener presents the certificate configured for the SNI', async () => {
  const { cn, status } = await peerCertificateCN('api.test');
  assert.equal(cn, 'api.test');
  assert.equal(status, 200);
});

test('an unknown SNI gets the default certificate', async () => {
  const { cn } = await peerCertificateCN('other.test');
  assert.equal(cn, 'localhost');
});

test('requests over the HTTPS listener are forwarded with X-Forwarded-Proto: https', async () => {
  const res = await send(`${proxy.httpsUrl}/plain/x`, { servername: 'api.test' });
  assert.equal(res.status, 200);
  assert.equal(res.json.headers['x-forwarded-proto'], 'https');
});

test('an https service is reached without certificate verification by default (tls_verify unset)', async () => {
  const res = await send(`${proxy.url}/tls/y`);
  assert.equal(res.status, 200);
  assert.equal(res.json.url, '/y');
});

test('tls_verify with an untrusted upstream certificate fails with 502', async () => {
  const res = await send(`${proxy.url}/verify-no-ca/y`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 502);
});

test('tls_verify with the service’s ca_certificates trusts the upstream (SNI and name from the service host)', async () => {
  const res = await send(`${proxy.url}/verify-ca/y`);
  assert.equal(res.status, 200);
  assert.equal(res.json.headers.host, `localhost:${tlsUp.port}`);
});

test('a WebSocket conversation passes through the proxy both ways', async () => {
  const socket = new WebSocket(`ws://127.0.0.1:${proxy.port}/ws/chat`);
  const messages: string[] = [];
  const opened = Promise.withResolvers<void>();
  const got = Promise.withResolvers<void>();
  socket.addEventListener('open', () => opened.resolve());
  socket.addEventListener('error', () => opened.reject(new Error('websocket error')));
  socket.addEventListener('message', (e) => {
    messages.push(String(e.data));
    if (messages.length === 2) got.resolve();
  });
  await opened.promise;
  socket.send('hello');
  socket.send('again');
  await got.promise;
  assert.deepEqual(messages, ['echo:hello', 'echo:again']);
  const closed = Promise.withResolvers<void>();
  socket.addEventListener('close', () => closed.resolve());
  socket.close();
  await closed.promise;
  const hs = ws.handshakes.at(-1)!;
  assert.equal(hs['upgrade'], 'websocket');
  assert.equal(hs['x-forwarded-for'], '127.0.0.1');
  assert.equal(hs['host'], `127.0.0.1:${ws.port}`);
  // The tunnel is logged as 101 once it closes.
  await waitFor('the tunnel\'s access log line', () => proxy.logs.access().some((l) => l.path === '/ws/chat' && l.status === 101));
});

test('an upgrade the upstream refuses is relayed as its answer', async () => {
  const res = await new Promise<string>((resolve, reject) => {
    const sock = netConnect(proxy.port, '127.0.0.1');
    let data = '';
    sock.on('data', (c) => (data += c.toString()));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
    // No Sec-WebSocket-Key: the echo server answers 400.
    sock.write('GET /ws/x HTTP/1.1\r\nhost: a\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n');
  });
  assert.match(res, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(res, /x-kong-request-id: [0-9a-f]{32}/i);
});

test('an upgrade request no route matches gets Kong’s 404 and the connection closes', async () => {
  const res = await new Promise<string>((resolve, reject) => {
    const sock = netConnect(proxy.port, '127.0.0.1');
    let data = '';
    sock.on('data', (c) => (data += c.toString()));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
    sock.write('GET /nowhere HTTP/1.1\r\nhost: a\r\naccept: application/json\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  });
  assert.match(res, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(res, /"message":"no Route matched with those values"/);
});
