/**
 * CPU per proxied request of the gateway (utime + stime of the primary and
 * its workers ÷ requests answered), for the opentelemetry configurations —
 * the measure docs/ARCHITECTURE.md uses, robust where throughput is not (a
 * shared 2-core machine). Systems run in alternating rounds:
 *   base        another tree (--base DIR, e.g. the main checkout), plain proxy
 *   plain       this tree, plain proxy (no opentelemetry configured)
 *   propagation this tree, global opentelemetry, tracing_instrumentations off (Kong's default)
 *   traced      this tree, global opentelemetry, tracing_instrumentations all, sampling 1, exported to a local sink
 *
 *   node bench/otel-overhead.ts [--base /work/main] [--rounds 4] [--seconds 3] [--workers 2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from './lib/proc.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : process.argv[i + 1]!;
};
const HERE = fileURLToPath(new URL('..', import.meta.url));
const BASE = arg('base', '');
const ROUNDS = Number(arg('rounds', '4'));
const SECONDS = Number(arg('seconds', '3'));
const WORKERS = arg('workers', '2');

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

/** CPU seconds of pid and its descendants. */
function treeCpu(root: number): number {
  const c = cpuMicros([root]);
  return (c.user + c.system) / 1e6;
}

interface Running {
  proc: ChildProcess;
  url: string;
}

async function startGateway(tree: string, config: object, extra: string[]): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'otel-overhead-'));
  const file = join(dir, 'kong.json');
  writeFileSync(file, JSON.stringify(config));
  const port = await freePort();
  const admin = await freePort();
  const proc = spawn(join(HERE, 'node_modules/.bin/node'), [join(tree, 'src/cli/main.ts'), 'start', '--proxy-listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${admin}`, '--workers', WORKERS, '--declarative-config', file, '--log-level', 'warn', '--data-dir', dir, ...extra], {
    env: { ...process.env, NODE_ENV: 'production', PORTCULLIS_SESSION_SECRET: 'bench-secret-0123456789abcdef0123456789' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`gateway ${tree} did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { proc, url };
}

/** wrk as a child process (asynchronously: the upstream and the sink live in this process). */
async function wrk(url: string): Promise<number> {
  const child = spawn('wrk', ['-t1', '-c20', `-d${SECONDS}s`, url]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.on('close', r));
  const m = /(\d+) requests in/.exec(out);
  if (m === null) throw new Error(`wrk: ${out}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  const upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  let sunk = 0;
  const sink = createServer((req, res) => {
    req.on('data', (c: Buffer) => (sunk += c.length));
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const up = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/v1/traces`;
  const plain = { _format_version: '3.0', services: [{ name: 's', url: up, routes: [{ name: 'r', paths: ['/'] }] }] };
  const otel = { ...plain, plugins: [{ name: 'opentelemetry', config: { traces_endpoint: sinkUrl } }] };
  const systems: Array<[string, string, object, string[]]> = [
    ...(BASE !== '' ? ([['base', BASE, plain, []]] as Array<[string, string, object, string[]]>) : []),
    ['plain', HERE, plain, []],
    ['propagation', HERE, otel, []],
    ['traced', HERE, otel, ['--tracing-instrumentations', 'all', '--tracing-sampling-rate', '1']],
  ];
  const results = new Map<string, number[]>();
  const gws = new Map<string, Running>();
  for (const [name, tree, config, extra] of systems) gws.set(name, await startGateway(tree, config, extra));
  for (const g of gws.values()) await wrk(g.url); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name] of round % 2 === 0 ? systems : [...systems].reverse()) {
      const g = gws.get(name)!;
      const before = treeCpu(g.proc.pid!);
      const n = await wrk(g.url);
      const used = treeCpu(g.proc.pid!) - before;
      (results.get(name) ?? results.set(name, []).get(name)!).push((used / n) * 1e6);
      process.stdout.write(`round ${round + 1} ${name.padEnd(12)} ${n} requests, ${((used / n) * 1e6).toFixed(1)} µs CPU/request\n`);
    }
  }
  for (const g of gws.values()) g.proc.kill('SIGTERM');
  upstream.close();
  sink.closeAllConnections();
  sink.close();
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  process.stdout.write(`\nmedian CPU per request (µs), ${ROUNDS} rounds, wrk -t1 -c20 -d${SECONDS}s, --workers ${WORKERS}, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);
  for (const [name] of systems) process.stdout.write(`  ${name.padEnd(12)} ${median(results.get(name)!).toFixed(1)}  [${results.get(name)!.map((v) => v.toFixed(1)).join(', ')}]\n`);
  process.stdout.write(`  OTLP received by the sink: ${(sunk / 1048576).toFixed(1)} MiB\n`);
}

await main();
