/**
 * rate-limiting's redis policy against real Redis Sentinel and Redis Cluster
 * processes started by the test (test/helpers/redis-ha.ts): counters live in
 * the master the Sentinel names (a bogus `host` proves host/port are not
 * used) and across a 3-master cluster; refused combinations name the field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { directClient, redisBinariesAvailable, startCluster, startSentinel, type ClusterTopology, type SentinelTopology } from '../../helpers/redis-ha.ts';
import { waitFor } from '../../helpers/wait.ts';

const available = await redisBinariesAvailable();
let gw: TestGateway;
let echo: Echo;
let n = 0;

before(async () => {
  if (!available) return;
  echo = await startEcho();
  gw = await startGateway({ logLevel: 'warn' });
  const r = await gw.admin('POST', '/services', { name: 'svc', url: echo.url });
  assert.equal(r.status, 201);
});

after(async () => {
  if (!available) return;
  await gw.close();
  await echo.close();
});

async function route(config: Record<string, unknown>): Promise<string> {
  const name = `ha${++n}`;
  let r = await gw.admin('POST', '/services/svc/routes', { name, paths: [`/${name}`] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', `/routes/${name}/plugins`, { name: 'rate-limiting', config });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await gw.settle();
  return `${gw.proxyUrl}/${name}`;
}

async function hit(url: string, tenant: string): Promise<number> {
  const res = await fetch(url, { headers: { 'x-tenant': tenant } });
  await res.arrayBuffer();
  return res.status;
}

describe('rate-limiting redis policy through Redis Sentinel', { skip: !available && 'redis-server not installed' }, () => {
  let topo: SentinelTopology;
  before(async () => {
    topo = await startSentinel();
  });
  after(async () => {
    await topo?.stop();
  });

  test('counts in the master the Sentinel names, not at host/port', async () => {
    const tenant = randomUUID();
    const url = await route({
      minute: 2,
      policy: 'redis',
      limit_by: 'header',
      header_name: 'x-tenant',
      // A host that does not resolve: were it used, fault_tolerant=false would answer 500.
      fault_tolerant: false,
      redis: { host: 'host-not-used.invalid', port: 1, sentinel_master: topo.masterName, sentinel_role: 'master', sentinel_nodes: [{ host: '127.0.0.1', port: topo.sentinelPort }] },
    });
    assert.deepEqual([await hit(url, tenant), await hit(url, tenant), await hit(url, tenant)], [200, 200, 429]);
    const master = directClient(topo.masterPort);
    try {
      const keys = await master.keys(`ratelimit:*:${tenant}:*:minute`);
      assert.equal(keys.length, 1, 'the counter is in the Sentinel-discovered master');
      assert.equal(await master.get(keys[0]!), '2');
    } finally {
      master.disconnect();
    }
  });

  test('half a Sentinel configuration is refused, naming the missing field', async () => {
    const r = await gw.admin('POST', '/schemas/plugins/validate', {
      name: 'rate-limiting',
      config: { minute: 1, policy: 'redis', redis: { sentinel_master: topo.masterName } },
    });
    assert.equal(r.status, 400);
    assert.match(r.body.fields.config.redis.sentinel_nodes, /required field missing/);
  });
});

describe('rate-limiting redis policy through Redis Cluster', { skip: !available && 'redis-server not installed' }, () => {
  let topo: ClusterTopology;
  before(async () => {
    topo = await startCluster();
  });
  after(async () => {
    await topo?.stop();
  });

  test('counts across a 3-master cluster, realtime and with sync_rate', async () => {
    const cluster_nodes = [{ ip: '127.0.0.1', port: topo.ports[0] }];
    const url = await route({ minute: 2, hour: 50, policy: 'redis', limit_by: 'header', header_name: 'x-tenant', fault_tolerant: false, redis: { host: 'host-not-used.invalid', cluster_nodes } });
    const tenants = Array.from({ length: 6 }, () => randomUUID());
    for (const t of tenants) assert.deepEqual([await hit(url, t), await hit(url, t), await hit(url, t)], [200, 200, 429], t);

    const client = new Cluster(topo.ports.map((port) => ({ host: '127.0.0.1', port })));
    client.on('error', () => {});
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const where = new Set<number>();
      for (const t of tenants) {
        // Both periods' counters of one client share a slot (hash tag), so the script can touch both.
        const nodes = client.nodes('master');
        let found = 0;
        for (const node of nodes) {
          const keys = await node.keys(`{ratelimit:*:${t}}:*`);
          if (keys.length > 0) where.add(node.options.port!);
          found += keys.length;
          for (const k of keys) if (k.endsWith(':minute')) assert.equal(await node.get(k), '2');
        }
        assert.equal(found, 2, "a minute and an hour counter");
      }
      assert.ok(where.size >= 2, `counters spread over the masters (${[...where].join(',')})`);

      const syncedUrl = await route({ minute: 3, policy: 'redis', sync_rate: 0.05, limit_by: 'header', header_name: 'x-tenant', redis: { cluster_nodes } });
      const t = randomUUID();
      for (let i = 0; i < 3; i++) assert.equal(await hit(syncedUrl, t), 200);
      let total = 0;
      const synced = async (): Promise<boolean> => {
        const [k] = await Promise.all(client.nodes('master').map((node) => node.keys(`{ratelimit:*:${t}}:*:minute`))).then((l) => l.flat());
        total = k === undefined ? 0 : Number(await client.get(k));
        return total === 3;
      };
      await waitFor('synced counts in the cluster', synced, 5000, 10).catch(() => undefined);
      assert.equal(total, 3, 'synced counts reach the cluster');
    } finally {
      client.disconnect();
    }
  });

  test('cluster_nodes with a Sentinel, or with a database other than 0, is refused', async () => {
    let r = await gw.admin('POST', '/schemas/plugins/validate', {
      name: 'rate-limiting',
      config: { minute: 1, policy: 'redis', redis: { cluster_nodes: [{ ip: '127.0.0.1', port: topo.ports[0] }], sentinel_master: 'm', sentinel_nodes: [{ host: '127.0.0.1', port: 1 }] } },
    });
    assert.equal(r.status, 400);
    assert.match(r.body.fields.config.redis.cluster_nodes, /cannot be combined/);
    r = await gw.admin('POST', '/schemas/plugins/validate', {
      name: 'rate-limiting',
      config: { minute: 1, policy: 'redis', redis: { cluster_nodes: [{ ip: '127.0.0.1', port: topo.ports[0] }], database: 3 } },
    });
    assert.equal(r.status, 400);
    assert.match(r.body.fields.config.redis.database, /must be 0/);
  });
});
