/**
 * http-log through the real proxy at --workers 2, delivering to a real HTTP
 * receiver started here: Kong's documented example (every entry once, Kong's
 * serializer fields, secrets redacted, Basic auth from the endpoint's
 * userinfo), batching by the queue, a receiver that is down (entries retried
 * and delivered once it is back, requests not slowed), entries dropped after
 * max_retry_time with a log line, and the configurations Kong refuses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { waitFor } from '../../helpers/wait.ts';

interface Receiver {
  port: number;
  bodies: string[];
  headers: IncomingMessage['headers'][];
  /** Entries received (batches flattened). */
  entries(): Array<Record<string, any>>;
  listen(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function receiver(port = 0, status = 200): Promise<Receiver> {
  const bodies: string[] = [];
  const parsed: Array<Record<string, any>> = [];
  const headers: IncomingMessage['headers'][] = [];
  let server: Server | null = null;
  const r: Receiver = {
    port,
    bodies,
    headers,
    entries: () => parsed,
    async listen() {
      server = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (body += c));
        req.on('end', () => {
          bodies.push(body);
          const v = JSON.parse(body) as unknown;
          parsed.push(...((Array.isArray(v) ? v : [v]) as Array<Record<string, any>>));
          headers.push(req.headers);
          res.writeHead(status).end('ok');
        });
      });
      await new Promise<void>((ok) => server!.listen(r.port, '127.0.0.1', ok));
      r.port = (server!.address() as { port: number }).port;
    },
    async close() {
      server?.closeAllConnections();
      await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
      server = null;
    },
  };
  if (port === 0) await r.listen();
  return r;
}


describe('http-log at --workers 2', () => {
  let echo: Echo;
  let gw: ClusterGateway;
  let n = 0;

  async function route(config: Record<string, unknown>): Promise<string> {
    const name = `hl${++n}`;
    assert.equal((await gw.admin('POST', '/services/svc/routes', { name, paths: [`/${name}`] })).status, 201);
    const r = await gw.admin('POST', `/routes/${name}/plugins`, { name: 'http-log', config });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await gw.settle();
    return `/${name}`;
  }

  before(async () => {
    echo = await startEcho();
    gw = await startClusterGateway({ workers: 2 });
    assert.equal((await gw.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
    assert.equal((await gw.admin('POST', '/consumers', { username: 'alice' })).status, 201);
  });
  after(async () => {
    await gw?.close();
    await echo?.close();
  });

  test("Kong's example: every entry once, Kong's fields, secrets redacted, Basic auth from userinfo", async () => {
    const rx = await receiver();
    try {
      const path = await route({
        http_endpoint: `http://logger:s3cr3t-pass@127.0.0.1:${rx.port}/logs`,
        method: 'POST',
        timeout: 1000,
        keepalive: 1000,
        headers: { 'X-Log-Source': 'portcullis' },
      });
      const N = 20;
      for (let i = 0; i < N; i++) {
        const r = await gw.get(`${path}/item?i=${i}&access_token=tok-${i}-SECRETVALUE&plain=yes`, {
          authorization: 'Bearer eyJ-SECRETVALUE',
          cookie: 'session=SECRETVALUE',
          'x-api-key': 'SECRETVALUE',
          'x-visible': 'shown',
        });
        assert.equal(r.status, 200);
      }
      await waitFor(() => `entries (${rx.entries().length} of ${N} arrived; gateway output tail: ${gw.output().slice(-1500)})`, () => rx.entries().length >= N, 10_000, 20);
      await new Promise((r) => setTimeout(r, 300));
      const entries = rx.entries();
      assert.equal(entries.length, N, 'no entry twice');
      assert.equal(new Set(entries.map((e) => e.request.id)).size, N);
      assert.deepEqual(entries.map((e) => Number(e.request.querystring.i)).sort((a, b) => a - b), [...Array(N).keys()]);
      const e = entries[0]!;
      assert.equal(e.request.method, 'GET');
      assert.match(e.request.uri, new RegExp(`^${path}/item\\?i=\\d+&access_token=REDACTED&plain=yes$`));
      assert.match(e.request.url, new RegExp(`^http://127\\.0\\.0\\.1:\\d+${path}/item\\?`));
      assert.equal(e.request.headers.authorization, 'REDACTED');
      assert.equal(e.request.headers.cookie, 'REDACTED');
      assert.equal(e.request.headers['x-api-key'], 'REDACTED');
      assert.equal(e.request.headers['x-visible'], 'shown');
      assert.equal(e.request.querystring.access_token, 'REDACTED');
      assert.equal(e.request.querystring.plain, 'yes');
      assert.equal(typeof e.request.size, 'number');
      assert.match(e.upstream_uri, /^\/item\?i=\d+&access_token=REDACTED&plain=yes$/);
      assert.equal(e.upstream_status, '200');
      assert.equal(e.response.status, 200);
      assert.equal(typeof e.response.size, 'number');
      assert.ok(e.response.size > 0);
      assert.equal(typeof e.response.headers['content-type'], 'string');
      assert.equal(e.route.name, path.slice(1));
      assert.equal(e.service.name, 'svc');
      assert.equal(e.source, 'service');
      assert.equal(e.client_ip, '127.0.0.1');
      assert.ok(Math.abs(e.started_at - Date.now()) < 60_000);
      for (const k of ['kong', 'proxy', 'request', 'receive']) assert.equal(typeof e.latencies[k], 'number', k);
      assert.ok(e.latencies.proxy >= 0);
      assert.equal(e.tries.length, 1);
      assert.equal(e.tries[0].port, Number(new URL(echo.url).port));
      assert.equal(e.workspace_name, 'default');
      assert.ok(!rx.bodies.join('').includes('SECRETVALUE'), 'no secret reaches the log server');
      assert.ok(!gw.output().includes('s3cr3t-pass'), 'the endpoint password is never logged');
      const h = rx.headers[0]!;
      assert.equal(h.authorization, `Basic ${Buffer.from('logger:s3cr3t-pass').toString('base64')}`);
      assert.equal(h['content-type'], 'application/json');
      assert.equal(h['x-log-source'], 'portcullis');
    } finally {
      await rx.close();
    }
  });

  test('queue.max_batch_size 5: entries arrive as JSON arrays of at most 5, each once', async () => {
    const rx = await receiver();
    try {
      const path = await route({ http_endpoint: `http://127.0.0.1:${rx.port}/`, queue: { max_batch_size: 5, max_coalescing_delay: 0.5 } });
      await Promise.all(Array.from({ length: 30 }, (_, i) => gw.get(`${path}?i=${i}`)));
      await waitFor('entries', () => rx.entries().length >= 30, 10_000, 20);
      await new Promise((r) => setTimeout(r, 700));
      for (const b of rx.bodies) {
        const v = JSON.parse(b) as unknown[];
        assert.ok(Array.isArray(v) && v.length >= 1 && v.length <= 5, b.slice(0, 80));
      }
      assert.ok(rx.bodies.length < 30, `batched: ${rx.bodies.length} posts for 30 entries`);
      assert.equal(new Set(rx.entries().map((e) => e.request.id)).size, 30);
    } finally {
      await rx.close();
    }
  });

  test('receiver down: requests are not slowed, entries are retried and delivered once it is back', async () => {
    const port = await freePort();
    const path = await route({
      http_endpoint: `http://127.0.0.1:${port}/`,
      timeout: 1000,
      queue: { initial_retry_delay: 0.1, max_retry_delay: 0.5, max_retry_time: 60 },
    });
    const plain = '/plain-hl';
    assert.equal((await gw.admin('POST', '/services/svc/routes', { name: 'plain-hl', paths: [plain] })).status, 201);
    await gw.settle();
    const timed = async (p: string) => {
      const t = performance.now();
      const r = await gw.get(p);
      assert.equal(r.status, 200);
      return performance.now() - t;
    };
    const withLog: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < 10; i++) {
      withLog.push(await timed(`${path}?i=${i}`));
      without.push(await timed(plain));
    }
    const median = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    assert.ok(median(withLog) < median(without) + 20, `median latency with the log server down ${median(withLog).toFixed(1)} ms vs ${median(without).toFixed(1)} ms`);
    assert.ok(Math.max(...withLog) < 500, `slowest request ${Math.max(...withLog).toFixed(1)} ms`);
    await waitFor('a retry warning', () => gw.output().includes('handler could not process entries'), 5000, 20);
    const rx = await receiver(port);
    await rx.listen();
    try {
      await waitFor('retried entries', () => rx.entries().length >= 10, 10_000, 20);
      await new Promise((r) => setTimeout(r, 700));
      const ids = rx.entries().map((e) => e.request.id);
      assert.equal(ids.length, 10);
      assert.equal(new Set(ids).size, 10);
    } finally {
      await rx.close();
    }
  });

  test('under load (target 1,000 req/s) with the receiver down for 10 s: every entry delivered exactly once', async () => {
    const port = await freePort();
    const rx = await receiver(port);
    await rx.listen();
    const path = await route({ http_endpoint: `http://127.0.0.1:${port}/`, queue: { max_batch_size: 200, max_coalescing_delay: 0.2, initial_retry_delay: 0.1, max_retry_delay: 1 } });
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${gw.proxyUrl}${path}`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    let ok = 0;
    let sent = 0;
    const inflight = new Set<Promise<void>>();
    const start = Date.now();
    const durationMs = 12_000;
    let downAt = 0;
    let upAt = 0;
    while (Date.now() - start < durationMs) {
      const elapsed = Date.now() - start;
      if (downAt === 0 && elapsed > 1000) {
        downAt = Date.now();
        await rx.close();
      }
      if (downAt !== 0 && upAt === 0 && Date.now() - downAt >= 10_000) {
        upAt = Date.now();
        await rx.listen();
      }
      // Keep to the target rate: as many requests as are due, a few ms at a time.
      const due = Math.floor(elapsed) - sent;
      for (let i = 0; i < due && inflight.size < 256; i++) {
        sent++;
        const p: Promise<void> = get().then((s) => {
          if (s === 200) ok++;
          inflight.delete(p);
        });
        inflight.add(p);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(inflight);
    if (upAt === 0) await rx.listen();
    agent.destroy();
    const seconds = (Date.now() - start) / 1000;
    try {
      await waitFor(() => `${ok} entries (have ${rx.entries().length})`, () => rx.entries().length >= ok, 30_000, 20);
      await new Promise((r) => setTimeout(r, 1000));
      const ids = rx.entries().map((e) => e.request.id as string);
      assert.equal(new Set(ids).size, ids.length, 'no entry delivered twice');
      assert.equal(ids.length, ok, 'every answered request logged');
      assert.equal(ok, sent);
      console.log(`# ${sent} requests in ${seconds.toFixed(1)} s (${(sent / seconds).toFixed(0)} req/s), receiver down ${((upAt - downAt) / 1000).toFixed(1)} s, ${ids.length} entries delivered once`);
    } finally {
      await rx.close();
    }
  });

  test('a batch still failing after max_retry_time is dropped with an error line; a 500 answer counts as a failure', async () => {
    const rx = await receiver(0, 500);
    try {
      const path = await route({ http_endpoint: `http://127.0.0.1:${rx.port}/`, queue: { initial_retry_delay: 0.1, max_retry_delay: 0.2, max_retry_time: 0.5 } });
      assert.equal((await gw.get(path)).status, 200);
      await waitFor('the drop line', () => gw.output().includes('could not send entries due to max_retry_time exceeded. 1 queue entries were lost'), 10_000, 20);
      assert.ok(rx.bodies.length >= 2, 'retried before dropping');
      assert.match(gw.output(), /returned status code 500 and body ok/);
    } finally {
      await rx.close();
    }
  });

  test('configurations Kong refuses are refused, naming the field', async () => {
    const post = (config: Record<string, unknown>) => gw.admin('POST', '/plugins', { name: 'http-log', config });
    let r = await post({ http_endpoint: 'http://127.0.0.1:9/', custom_fields_by_lua: { my_field: "return 'x'" } });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body.fields), /custom_fields_by_lua.*no Lua/);
    r = await post({ http_endpoint: 'http://127.0.0.1:9/', headers: { Host: 'x' } });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body.fields), /cannot contain 'Host' header/);
    r = await post({ http_endpoint: 'http://u:p@127.0.0.1:9/', headers: { Authorization: 'x' } });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body), /specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed/);
    r = await post({ http_endpoint: 'http://127.0.0.1:9/', queue: { concurrency_limit: 3 } });
    assert.equal(r.status, 400);
    r = await post({ http_endpoint: 'http://127.0.0.1:9/', method: 'GET' });
    assert.equal(r.status, 400);
    r = await gw.admin('GET', '/schemas/plugins/http-log');
    assert.equal(r.status, 200);
  });
});

describe('http-log when the node stops', () => {
  test('entries waiting to coalesce are sent before the workers exit', async () => {
    const echo = await startEcho();
    const rx = await receiver();
    const gw = await startClusterGateway({ workers: 2 });
    try {
      assert.equal((await gw.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
      assert.equal((await gw.admin('POST', '/services/svc/routes', { name: 'stop', paths: ['/stop'] })).status, 201);
      const r = await gw.admin('POST', '/routes/stop/plugins', {
        name: 'http-log',
        config: { http_endpoint: `http://127.0.0.1:${rx.port}/`, queue: { max_batch_size: 100, max_coalescing_delay: 60 } },
      });
      assert.equal(r.status, 201);
      await gw.settle();
      for (let i = 0; i < 6; i++) assert.equal((await gw.get('/stop')).status, 200);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(rx.entries().length, 0, 'still coalescing');
      await gw.close();
      assert.equal(rx.entries().length, 6);
    } finally {
      await gw.close();
      await rx.close();
      await echo.close();
    }
  });
});
