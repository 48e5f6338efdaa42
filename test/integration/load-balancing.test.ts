/**
 * Upstreams that survive failing targets (issue 14): Kong's balancing
 * algorithms and health checks, with real loopback targets, against the
 * gateway as users run it (`portcullis start --workers 2`) and in-process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeBounded, GATEWAYS, must, type Gw } from '../security/harness.ts';
import { waitFor } from '../helpers/wait.ts';

/** A loopback target answering its name; it can be killed and brought back on the same port. */
class Target {
  readonly name: string;
  port = 0;
  hits = 0;
  server: Server | null = null;
  /** Requests held until release() (least-connections). */
  hold = false;
  private held: ServerResponse[] = [];

  constructor(name: string) {
    this.name = name;
  }

  async start(): Promise<this> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/probe') {
        res.end('ok');
        return;
      }
      this.hits++;
      if (this.hold) {
        this.held.push(res);
        return;
      }
      res.setHeader('x-target', this.name);
      res.end(this.name);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  release(): void {
    for (const res of this.held.splice(0)) {
      res.setHeader('x-target', this.name);
      res.end(this.name);
    }
    this.hold = false;
  }

  async kill(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s === null) return;
    this.release();
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
}

interface Answer {
  status: number;
  target: string | undefined;
  setCookie: string[];
  body: string;
}

/** One request on a fresh connection (spread over the workers by the cluster). */
function get(gw: Gw, path: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: gw.proxyPort, path, headers: { host: 'lb.example', connection: 'close', ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, target: res.headers['x-target'] as string | undefined, setCookie: res.headers['set-cookie'] ?? [], body }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, target: undefined, setCookie: [], body: err.message }));
    req.end();
  });
}

/** Poll `check` until it returns true (deadline). */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000, every = 50): Promise<number> {
  return waitFor(what, check, ms, every);
}

let seq = 0;

/** An upstream of `targets` behind a service and route `/<name>`; resolves once the proxy serves it from every worker. */
async function setup(gw: Gw, targets: Target[], upstream: Record<string, unknown>, retries = 5): Promise<{ name: string; path: string }> {
  const name = `lb${++seq}-${Date.now() % 100000}`;
  await must(gw, 'POST', '/upstreams', { name, ...upstream });
  for (const t of targets) await must(gw, 'POST', `/upstreams/${name}/targets`, { target: t.address });
  await must(gw, 'POST', '/services', { name, host: name, retries, connect_timeout: 1000 });
  await must(gw, 'POST', `/services/${name}/routes`, { paths: [`/${name}`] });
  const path = `/${name}`;
  let streak = 0;
  await until('configuration in every worker', async () => {
    const r = await get(gw, path);
    streak = r.status === 200 ? streak + 1 : 0;
    return streak >= 8;
  });
  return { name, path };
}

async function targetHealth(gw: Gw, upstream: string): Promise<Map<string, any>> {
  const body = await must(gw, 'GET', `/upstreams/${upstream}/health`);
  return new Map((body.data as any[]).map((t) => [t.target, t]));
}

/** Steady traffic: one request at a time on fresh connections until stopped. */
function traffic(gw: Gw, path: string): { served(n: number): Promise<unknown>; stop(): Promise<{ total: number; errors: number; byTarget: Map<string, number>; last: Answer[] }> } {
  let running = true;
  let total = 0;
  let errors = 0;
  const byTarget = new Map<string, number>();
  const last: Answer[] = [];
  const loop = (async () => {
    while (running) {
      const r = await get(gw, path);
      total++;
      if (r.status !== 200) errors++;
      else byTarget.set(r.target!, (byTarget.get(r.target!) ?? 0) + 1);
      last.push(r);
      if (last.length > 20) last.shift();
      await sleep(5);
    }
  })();
  return {
    /** `n` more requests answered (whatever their status). */
    served(n: number) {
      const from = total;
      return waitFor(`${n} more requests`, () => total >= from + n, 10_000);
    },
    async stop() {
      running = false;
      await loop;
      return { total, errors, byTarget, last };
    },
  };
}

for (const g of GATEWAYS) {
  describe(`load balancing and health checks: ${g.label}`, { concurrency: false }, () => {
    let gw: Gw;
    before(async () => {
      gw = await g.start();
    });
    after(() => closeBounded(gw));

    test('active checks: a killed target leaves the rotation within interval × threshold + 1 s, clients see no more errors than retries allow, and it comes back', { timeout: 20_000 }, async () => {
      const targets = await Promise.all(['a', 'b', 'c'].map((n) => new Target(n).start()));
      try {
        const { name, path } = await setup(gw, targets, {
          healthchecks: {
            active: {
              http_path: '/probe',
              timeout: 0.5,
              healthy: { interval: 0.5, successes: 2 },
              unhealthy: { interval: 0.5, tcp_failures: 2, http_failures: 2, timeouts: 2 },
            },
          },
        }, 2);
        const steady = traffic(gw, path);
        await steady.served(20);
        const [, b] = targets;
        const killedAt = Date.now();
        await b!.kill();
        const out = await until('b UNHEALTHY in the health endpoint', async () => (await targetHealth(gw, name)).get(b!.address)?.health === 'UNHEALTHY', 5000);
        const window = Date.now() - killedAt;
        await steady.served(20);
        const during = await steady.stop();
        console.log(`[${g.label}] active: b out of rotation after ${window} ms (bound ${0.5 * 2 * 1000 + 1000} ms); ${during.errors} client errors in ${during.total} requests (retries: 2)`);
        assert.ok(window <= 2000 + 250, `left the rotation after ${window} ms`); // + one health-endpoint poll
        assert.equal(during.errors, 0, `client errors: ${JSON.stringify(during.last)}`);
        void out;
        // Back on the same port: two successful probes make it healthy again, and traffic reaches it.
        await b!.start();
        const back = await until('b HEALTHY again', async () => (await targetHealth(gw, name)).get(b!.address)?.health === 'HEALTHY', 5000);
        const hitsBefore = b!.hits;
        await until('traffic reaches b again', async () => (await get(gw, path)).status === 200 && b!.hits > hitsBefore, 5000, 10);
        console.log(`[${g.label}] active: b healthy again ${back} ms after it came back`);
      } finally {
        for (const t of targets) await t.kill();
      }
    });

    test('passive checks only: a killed target is taken out by real traffic, with no probes, and stays out until re-enabled through the Admin API', { timeout: 20_000 }, async () => {
      const targets = await Promise.all(['a', 'b', 'c'].map((n) => new Target(n).start()));
      try {
        const { name, path } = await setup(gw, targets, {
          healthchecks: { passive: { unhealthy: { tcp_failures: 1, timeouts: 1, http_failures: 2 } } },
        }, 2);
        const [, b] = targets;
        const steady = traffic(gw, path);
        await steady.served(20);
        await b!.kill();
        await until('b UNHEALTHY', async () => (await targetHealth(gw, name)).get(b!.address)?.health === 'UNHEALTHY', 5000);
        await steady.served(20);
        const during = await steady.stop();
        console.log(`[${g.label}] passive: ${during.errors} client errors in ${during.total} requests after the kill (retries: 2)`);
        assert.equal(during.errors, 0);
        // Alive again, but passive checks alone never bring it back (Kong's circuit breaker).
        await b!.start();
        const hits = b!.hits;
        for (let i = 0; i < 20; i++) assert.equal((await get(gw, path)).status, 200);
        assert.equal(b!.hits, hits, 'no traffic to a target the circuit breaker opened');
        assert.equal((await targetHealth(gw, name)).get(b!.address)?.health, 'UNHEALTHY');
        assert.equal((await gw.admin('PUT', `/upstreams/${name}/targets/${b!.address}/healthy`)).status, 204);
        await until('traffic reaches b again', async () => (await get(gw, path)).status === 200 && b!.hits > hits, 5000, 10);
      } finally {
        for (const t of targets) await t.kill();
      }
    });

    test('manual marks reach every worker; the health endpoints have Kong\'s shapes; no healthy target → 503', { timeout: 20_000 }, async () => {
      const targets = await Promise.all(['a', 'b'].map((n) => new Target(n).start()));
      try {
        const { name, path } = await setup(gw, targets, { healthchecks: { passive: { unhealthy: { tcp_failures: 3 } } } });
        const [a, b] = targets;
        assert.equal((await gw.admin('PUT', `/upstreams/${name}/targets/${a!.address}/unhealthy`)).status, 204);
        await until('a out in every worker', async () => {
          const hits = a!.hits;
          for (let i = 0; i < 12; i++) await get(gw, path);
          return a!.hits === hits;
        });
        // Every worker balances on the same state: 40 requests on fresh connections, none to a.
        const hits = a!.hits;
        for (let i = 0; i < 40; i++) assert.equal((await get(gw, path)).target, 'b');
        assert.equal(a!.hits, hits);

        const health = await must(gw, 'GET', `/upstreams/${name}/health`);
        assert.equal(typeof health.node_id, 'string');
        assert.equal(health.next, null);
        const ta = (health.data as any[]).find((t) => t.target === a!.address);
        assert.equal(ta.health, 'UNHEALTHY');
        assert.deepEqual(ta.data, {
          host: '127.0.0.1',
          port: a!.port,
          dns: 'A',
          nodeWeight: 100,
          weight: { total: 100, unavailable: 100, available: 0 },
          addresses: [{ ip: '127.0.0.1', port: a!.port, weight: 100, health: 'UNHEALTHY' }],
        });
        assert.equal((health.data as any[]).find((t) => t.target === b!.address).health, 'HEALTHY');
        const bh = await must(gw, 'GET', `/upstreams/${name}/health?balancer_health=1`);
        assert.equal(bh.data.health, 'HEALTHY');
        assert.equal(bh.data.balancer_health, 'HEALTHY');
        assert.deepEqual(bh.data.details.weight, { total: 200, unavailable: 100, available: 100 });
        assert.equal(bh.next, null);

        // Every target unhealthy: Kong's 503.
        assert.equal((await gw.admin('POST', `/upstreams/${name}/targets/${b!.address}/127.0.0.1:${b!.port}/unhealthy`)).status, 204);
        await until('503 from every worker', async () => {
          for (let i = 0; i < 8; i++) if ((await get(gw, path)).status !== 503) return false;
          return true;
        });
        const r = await get(gw, path, { accept: 'application/json' });
        assert.equal(JSON.parse(r.body).message, 'failure to get a peer from the ring-balancer');
        assert.equal((await must(gw, 'GET', `/upstreams/${name}/health?balancer_health=1`)).data.health, 'UNHEALTHY');
        // Errors in Kong's shapes.
        assert.equal((await gw.admin('PUT', `/upstreams/${name}/targets/127.0.0.9:1/healthy`)).status, 404);
        await must(gw, 'POST', '/upstreams', { name: `${name}-off` });
        await must(gw, 'POST', `/upstreams/${name}-off/targets`, { target: '127.0.0.1:9' });
        await until('the primary knows the new upstream', async () => (await gw.admin('PUT', `/upstreams/${name}-off/targets/127.0.0.1:9/healthy`)).status === 400);
        assert.deepEqual((await gw.admin('PUT', `/upstreams/${name}-off/targets/127.0.0.1:9/healthy`)).body, { message: `no healthchecker found for ${name}-off` });
        const off = await must(gw, 'GET', `/upstreams/${name}-off/health`);
        assert.equal(off.data[0].health, 'HEALTHCHECKS_OFF');
        assert.equal(off.data[0].data.addresses[0].health, 'HEALTHCHECKS_OFF');
        assert.equal((await must(gw, 'GET', `/upstreams/${name}-off/health?balancer_health=1`)).data.health, 'HEALTHCHECKS_OFF');
      } finally {
        for (const t of targets) await t.kill();
      }
    });

    test('targets by host name are resolved (localhost → 127.0.0.1); a name that does not resolve is DNS_ERROR', { timeout: 20_000 }, async () => {
      const t = await new Target('named').start();
      try {
        const name = `dns${++seq}`;
        await must(gw, 'POST', '/upstreams', { name });
        await must(gw, 'POST', `/upstreams/${name}/targets`, { target: `localhost:${t.port}` });
        await must(gw, 'POST', `/upstreams/${name}/targets`, { target: 'nonexistent.invalid:80', weight: 1 });
        await must(gw, 'POST', '/services', { name, host: name, retries: 5 });
        await must(gw, 'POST', `/services/${name}/routes`, { paths: [`/${name}`] });
        await until('named target answers', async () => (await get(gw, `/${name}`)).target === 'named');
        const health = await until('both targets in the health data', async () => {
          const h = await targetHealth(gw, name);
          return h.get(`localhost:${t.port}`)?.health === 'HEALTHCHECKS_OFF' && h.get('nonexistent.invalid:80')?.health === 'DNS_ERROR';
        });
        void health;
        const h = await targetHealth(gw, name);
        assert.deepEqual(h.get(`localhost:${t.port}`).data.addresses, [{ ip: '127.0.0.1', port: t.port, weight: 100, health: 'HEALTHCHECKS_OFF' }]);
        assert.deepEqual(h.get('nonexistent.invalid:80').data.addresses, []);
      } finally {
        await t.kill();
      }
    });

    test('hash_on=cookie: the gateway sets the cookie, then every request carrying it goes to the same target', { timeout: 20_000 }, async () => {
      const targets = await Promise.all(['a', 'b', 'c'].map((n) => new Target(n).start()));
      try {
        const { path } = await setup(gw, targets, { algorithm: 'consistent-hashing', hash_on: 'cookie', hash_on_cookie: 'lbsticky', hash_on_cookie_path: '/sticky' });
        const first = await get(gw, path);
        assert.equal(first.setCookie.length, 1);
        assert.match(first.setCookie[0]!, /^lbsticky=[0-9a-f-]{36}; Path=\/sticky; Same-Site=Lax; HttpOnly$/);
        const cookie = first.setCookie[0]!.split(';')[0]!;
        const seen = new Set<string>();
        for (let i = 0; i < 20; i++) {
          const r = await get(gw, path, { cookie });
          assert.equal(r.setCookie.length, 0, 'no new cookie once the client has one');
          seen.add(r.target!);
        }
        assert.equal(seen.size, 1, `one target for one cookie: ${[...seen]}`);
        // Different cookies spread over the targets.
        const spread = new Set<string>();
        for (let i = 0; i < 30; i++) spread.add((await get(gw, path, { cookie: `lbsticky=k${i}` })).target!);
        assert.ok(spread.size >= 2);
      } finally {
        for (const t of targets) await t.kill();
      }
    });

    test('least-connections sends new requests away from a target holding slow requests', { timeout: 20_000 }, async () => {
      const targets = await Promise.all(['a', 'b', 'c'].map((n) => new Target(n).start()));
      try {
        const { path } = await setup(gw, targets, { algorithm: 'least-connections' });
        const [a] = targets;
        a!.hold = true;
        a!.hits = 0;
        const hits = (): number => targets.reduce((n, t) => n + t.hits, 0);
        const hitsBefore = hits();
        const pending: Array<Promise<Answer>> = [];
        for (let i = 0; i < 24; i++) {
          pending.push(get(gw, path, {}, 10_000));
          await sleep(15);
        }
        // Each worker sends `a` at most one request (its first, while all counts are 0); the rest go elsewhere.
        await until('all 24 requests to reach a target', () => hits() >= hitsBefore + 24, 10_000, 1);
        const heldByA = a!.hits;
        a!.release();
        const answers = await Promise.all(pending);
        console.log(`[${g.label}] least-connections: ${heldByA} of 24 requests went to the slow target (round-robin would send 8)`);
        assert.ok(heldByA <= 2, `${heldByA} requests reached the slow target`);
        assert.ok(answers.every((r) => r.status === 200));
      } finally {
        for (const t of targets) await t.kill();
      }
    });
  });
}
