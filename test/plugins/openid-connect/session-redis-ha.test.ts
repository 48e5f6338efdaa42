/**
 * openid-connect sessions (`session_storage = redis`) through a real Redis
 * Sentinel and a real Redis Cluster started by the test: the plugin's `redis`
 * record (Kong's names, via sessionOptionsFromKong) reaches the master the
 * Sentinel names, or the cluster, and never its default host/port.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { OidcSessions, sessionOptionsFromKong } from '../../../src/plugins/openid-connect/session/index.ts';
import { normalizeConfig } from '../../../src/plugins/openid-connect/schema.ts';
import { checkConfig } from '../../../src/plugins/openid-connect/unsupported.ts';
import { directClient, redisBinariesAvailable, startCluster, startSentinel, type ClusterTopology, type SentinelTopology } from '../../helpers/redis-ha.ts';

const available = await redisBinariesAvailable();
const SECRET = 'redis-ha-session-test-secret-0123456789';
const managers: OidcSessions[] = [];

after(async () => {
  for (const m of managers) await m.close();
});

/** A session manager built from a plugin config, as compile() builds it. */
function managerFor(redis: Record<string, unknown>, prefix: string): OidcSessions {
  const config = normalizeConfig({ issuer: 'https://idp.example/realms/x', session_storage: 'redis', redis: { ...redis, prefix } });
  assert.deepEqual(checkConfig(config), {});
  const m = new OidcSessions(sessionOptionsFromKong(config as unknown as Record<string, unknown>, SECRET));
  managers.push(m);
  return m;
}

function cookieOf(setCookies: string[]): string {
  return setCookies.filter((c) => !/Max-Age=0/.test(c)).map((c) => c.split(';')[0]).join('; ');
}

describe('sessions through Redis Sentinel', { skip: !available && 'redis-server not installed' }, () => {
  let topo: SentinelTopology;
  before(async () => {
    topo = await startSentinel();
  });
  after(async () => {
    for (const m of managers.splice(0)) await m.close();
    await topo?.stop();
  });

  test('a session is stored in the Sentinel-discovered master and opened by another node', async () => {
    const prefix = `ha-${randomBytes(4).toString('hex')}:`;
    // host/port point nowhere: only the Sentinel can lead to the data.
    const redis = { host: '127.0.0.1', port: 1, sentinel_master: topo.masterName, sentinel_role: 'any', sentinel_nodes: [{ host: '127.0.0.1', port: topo.sentinelPort }] };
    const now = Math.floor(Date.now() / 1000);
    const cookie = cookieOf(await managerFor(redis, prefix).write(null, { sub: 'alice' }, now, false));
    const opened = await managerFor(redis, prefix).read(cookie, now + 1);
    assert.deepEqual(opened?.data, { sub: 'alice' });
    const master = directClient(topo.masterPort);
    try {
      assert.equal((await master.keys(`${prefix}*`)).length, 1, 'the entry is in the master');
    } finally {
      master.disconnect();
    }
  });

  test('sentinel_nodes without sentinel_master is refused, naming the field', () => {
    const config = normalizeConfig({ issuer: 'https://idp.example/realms/x', session_storage: 'redis', redis: { sentinel_nodes: [{ host: '127.0.0.1', port: topo.sentinelPort }] } });
    const errors = checkConfig(config) as { redis?: Record<string, string> };
    assert.match(errors.redis?.sentinel_master ?? '', /required field missing/);
  });
});

describe('sessions through Redis Cluster', { skip: !available && 'redis-server not installed' }, () => {
  let topo: ClusterTopology;
  before(async () => {
    topo = await startCluster();
  });
  after(async () => {
    for (const m of managers.splice(0)) await m.close();
    await topo?.stop();
  });

  test('sessions are stored across the cluster masters and read back, rotation and destroy included', async () => {
    const prefix = `ha-${randomBytes(4).toString('hex')}:`;
    const redis = { host: '127.0.0.1', port: 1, cluster_nodes: [{ ip: '127.0.0.1', port: topo.ports[1] }] };
    const m = managerFor(redis, prefix);
    const other = managerFor(redis, prefix);
    const now = Math.floor(Date.now() / 1000);
    const cookies: string[] = [];
    for (let i = 0; i < 12; i++) cookies.push(cookieOf(await m.write(null, { n: i }, now, false)));
    for (let i = 0; i < 12; i++) assert.deepEqual((await other.read(cookies[i]!, now + 1))?.data, { n: i });

    const client = new Cluster(topo.ports.map((port) => ({ host: '127.0.0.1', port })));
    client.on('error', () => {});
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const perNode = await Promise.all(client.nodes('master').map((node) => node.keys(`${prefix}*`)));
      assert.equal(perNode.flat().length, 12);
      assert.ok(perNode.filter((k) => k.length > 0).length >= 2, 'entries spread over the masters');

      const s = await m.read(cookies[0]!, now + 1);
      const rotated = cookieOf(await m.write(s, { n: 'rotated' }, now + 2, false));
      assert.deepEqual((await other.read(rotated, now + 2))?.data, { n: 'rotated' });
      const s2 = await other.read(rotated, now + 2);
      await other.erase(s2, rotated);
      assert.equal(await m.read(rotated, now + 3), null);
    } finally {
      client.disconnect();
    }
  });
});
