/**
 * The idle-sweep hot path end to end, in one process: the upstream HTTP/1.1
 * client (src/core/upstream/h1-pool.ts) sends keep-alive requests to a fast-lane
 * server (src/core/downstream/fast-lane.ts) that answers at once. Every request
 * touches what the one idle sweep (src/shared/clock.ts) records: the lane's
 * per-connection activity tick (read and finish) and the pool's idle mark on
 * release. Reports CPU µs and wall µs per request.
 *
 *   node bench/micro/lane-pool-loop.ts [--root DIR] [--seconds S] [--inflight N]
 *
 * `--root` points at another checkout's tree (A/B against the tree before a change).
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const root = resolve(arg('root', new URL('../..', import.meta.url).pathname));
const seconds = Number(arg('seconds', '3'));
const inflight = Number(arg('inflight', '8'));

const lanes = (await import(pathToFileURL(`${root}/src/core/downstream/fast-lane.ts`).href)) as typeof import('../../src/core/downstream/fast-lane.ts');
const pools = (await import(pathToFileURL(`${root}/src/core/upstream/h1-pool.ts`).href)) as typeof import('../../src/core/upstream/h1-pool.ts');

const server = createServer();
lanes.attachFastLane(server, {
  maxHeaderSize: 16 * 1024,
  keepAliveMs: 60_000,
  headersTimeoutMs: 60_000,
  onRequest: (_req, res) => {
    res.writeHead(200, { 'content-length': '2' });
    res.end('ok');
  },
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const port = (server.address() as { port: number }).port;
const pool = new pools.H1Pool({ host: '127.0.0.1', port, tls: null, connectTimeoutMs: 1000, keepAliveMs: 60_000, maxHeaderBytes: 16 * 1024 });
const request = { method: 'GET', path: '/x', headers: { host: 'bench.test' }, body: null, bodyLength: -1, upgrade: null };

function one(): Promise<void> {
  return new Promise((done, fail) => {
    pool.dispatch(request, {
      onRequestStart() {},
      onBodySent() {},
      onRequestSent() {},
      onResponseStart() {},
      onResponseData() {},
      onResponseEnd: () => done(),
      onUpgrade() {},
      onResponseError: (_c, err) => fail(err),
    });
  });
}

async function run(ms: number): Promise<{ n: number; cpuUs: number; wallUs: number }> {
  let n = 0;
  const end = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < end) {
        await one();
        n++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { n, cpuUs: (cpu.user + cpu.system) / n, wallUs: ((performance.now() - t0) * 1000) / n };
}

await run(500); // warm up
const r = await run(seconds * 1000);
console.log(JSON.stringify({ root, requests: r.n, cpuUsPerRequest: +r.cpuUs.toFixed(2), wallUsPerRequest: +r.wallUs.toFixed(2) }));
await pool.destroy();
server.close();
process.exit(0);
