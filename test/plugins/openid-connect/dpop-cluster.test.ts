/**
 * DPoP replay detection beyond one process: two nodes (`portcullis start
 * --workers 2` each, their own node state) sharing one Redis through the
 * plugin's `redis` record (session_storage = redis). A proof accepted by one
 * node is refused by the other, and by the other worker of the same node.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { startIdp, type Idp } from '../../helpers/idp.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { boundToken, dpopKey, proof, type DpopKey } from './dpop-helpers.ts';

let idp: Idp;
let echo: Echo;
let nodes: ClusterGateway[] = [];
let key: DpopKey;
let token: string;
const prefix = `dpop-${randomUUID()}:`;

async function configure(gw: ClusterGateway): Promise<void> {
  let r = await gw.admin('POST', '/services', { name: 'svc', url: `${echo.url}/anything` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', '/services/svc/routes', { name: 'api', paths: ['/api'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', '/routes/api/plugins', {
    name: 'openid-connect',
    config: {
      issuer: idp.issuer,
      client_id: ['kong'],
      client_secret: ['kong-secret'],
      auth_methods: ['bearer'],
      proof_of_possession_dpop: 'strict',
      session_storage: 'redis',
      redis: { host: '127.0.0.1', port: 6379, prefix },
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await gw.settle();
}

before(async () => {
  [idp, echo] = await Promise.all([startIdp(), startEcho()]);
  nodes = await Promise.all([startClusterGateway({ workers: 2 }), startClusterGateway({ workers: 2 })]);
  await Promise.all(nodes.map((n) => n.waitWorkers(2)));
  for (const n of nodes) await configure(n);
  key = await dpopKey();
  token = await boundToken(idp, key);
});

after(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await Promise.all([idp?.close(), echo?.close()]);
});

test('a proof used on node A is refused on node B (shared Redis), and the upstream sees it once', async () => {
  const [a, b] = nodes as [ClusterGateway, ClusterGateway];
  // The proof is for the URL the client addresses; both nodes are asked for "their" URL, so build one per node
  // with the same jti: the replay cache keys on (key thumbprint, jti), not on the URL.
  const jti = randomUUID();
  const before = echo.requestCount();
  const first = await a.get('/api', { authorization: `DPoP ${token}`, dpop: await proof(key, { htu: `${a.proxyUrl}/api`, token, jti }) });
  assert.equal(first.status, 200, first.body);
  const second = await b.get('/api', { authorization: `DPoP ${token}`, dpop: await proof(key, { htu: `${b.proxyUrl}/api`, token, jti }) });
  assert.equal(second.status, 401, second.body);
  assert.match(String(second.headers['www-authenticate']), /^DPoP .*error="invalid_dpop_proof"/);
  assert.equal(echo.requestCount(), before + 1);
});

test('on one node, a proof replayed over new connections is refused whichever worker takes it', async () => {
  const [a] = nodes as [ClusterGateway];
  const p = await proof(key, { htu: `${a.proxyUrl}/api`, token });
  assert.equal((await a.get('/api', { authorization: `DPoP ${token}`, dpop: p })).status, 200);
  for (let i = 0; i < 6; i++) assert.equal((await a.get('/api', { authorization: `DPoP ${token}`, dpop: p })).status, 401, `replay ${i}`);
  assert.ok(a.workerPids().length >= 2);
});
