/**
 * Plugins are ready before a configuration goes live (ARCHITECTURE principle
 * 16, issue 10): a worker that receives its first configuration using
 * openid-connect loads the plugin's code (jose, undici, ioredis, ~40 files of
 * its own) while it keeps serving, and only then swaps. Measured from
 * outside: requests to another route, on kept-alive connections spread over
 * both workers, never wait more than 100 ms while the workers switch (with a
 * plain `await import()` the longest was ~350 ms here; 3.1 s in the issue's
 * report, where the load was a synchronous require).
 *
 * On a machine shared with other work a single request can wait 100 ms for
 * the CPU with no stall of the gateway's own: a first attempt over the bound
 * is repeated once on a fresh node (a real stall shows every time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, get } from 'node:http';
import { startEcho } from '../helpers/echo.ts';
import { startClusterGateway } from '../helpers/cluster-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

/** GET over one kept-alive connection (which the primary handed to one worker). */
function getOn(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

interface Switch {
  worst: number;
  baselineWorst: number;
  during: number;
  baseline: number;
}

/** A fresh 2-worker node; load on /plain while openid-connect is added to /oidc; the longest request while switching. */
async function measureSwitch(): Promise<Switch> {
  const echo = await startEcho();
  const gw = await startClusterGateway({ workers: 2 });
  try {
    assert.equal((await gw.admin('POST', '/services', { name: 'plain', url: `${echo.url}/anything` })).status, 201);
    assert.equal((await gw.admin('POST', '/services/plain/routes', { name: 'plain', paths: ['/plain'] })).status, 201);
    assert.equal((await gw.admin('POST', '/services', { name: 'oidc', url: `${echo.url}/anything` })).status, 201);
    assert.equal((await gw.admin('POST', '/services/oidc/routes', { name: 'oidc', paths: ['/oidc'] })).status, 201);
    await gw.settle();

    let running = true;
    const latencies: number[] = [];
    // Kept-alive connections, spread over both workers when they open: what is measured is the
    // workers' own event loops, not the primary's hand-over of new connections.
    const agents = Array.from({ length: 4 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const client = async (agent: Agent): Promise<void> => {
      while (running) {
        const t0 = performance.now();
        const status = await getOn(agent, `${gw.proxyUrl}/plain`);
        latencies.push(performance.now() - t0);
        assert.equal(status, 200);
      }
    };
    const clients = agents.map(client);
    await waitFor('a baseline of 100 requests', () => latencies.length >= 100, 10_000);
    const baseline = latencies.length;
    const baselineWorst = Math.max(...latencies);
    // The issuer is not reachable: discovery runs in the background and fails there, which is not what is measured.
    const created = await gw.admin('POST', '/routes/oidc/plugins', { name: 'openid-connect', config: { issuer: 'http://127.0.0.1:9/realms/none', auth_methods: ['bearer'] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await gw.settle();
    const settledAt = latencies.length;
    await waitFor('100 requests after the switch', () => latencies.length >= settledAt + 100, 10_000);
    running = false;
    await Promise.all(clients);
    for (const a of agents) a.destroy();
    // The switch happened: the plugin is live on its route (the IdP cannot be reached, so it answers 500; never proxied).
    const oidc = await gw.get('/oidc');
    assert.equal(oidc.status, 500, oidc.body);
    const during = latencies.slice(baseline);
    assert.ok(during.length > 20, `requests were served while the workers switched (${during.length})`);
    return { worst: Math.max(...during), baselineWorst, during: during.length, baseline };
  } finally {
    await gw.close();
    await echo.close();
  }
}

// The bound is on the stall the switch adds: 100 ms over the longest request of the baseline measured just
// before on the same node (on a loaded CI machine the baseline alone reached 117 ms). A plugin graph loaded
// in one piece (openid-connect's was 330 ms) still fails it.
const added = (x: Switch): number => x.worst - Math.max(0, x.baselineWorst);
test('a worker switching to a configuration with openid-connect serves other routes without adding a stall > 100 ms', async (t) => {
  let m = await measureSwitch();
  const report = (x: Switch): string =>
    `longest request while switching ${x.worst.toFixed(1)} ms over ${x.during}; before the change ${x.baselineWorst.toFixed(1)} ms over ${x.baseline}`;
  t.diagnostic(report(m));
  if (m.worst >= 100 && added(m) >= 100) {
    m = await measureSwitch();
    t.diagnostic(`again on a fresh node: ${report(m)}`);
  }
  assert.ok(m.worst < 100 || added(m) < 100, report(m));
});
