/**
 * Bearer JWT with a DPoP proof vs plain bearer JWT, on the same gateway
 * (`portcullis start --workers N`, DB-less), same upstream, interleaved
 * rounds (issue 17: "the proof check must stay cheap").
 *
 *   node bench/dpop-vs-bearer.ts [--duration 5] [--rounds 2] [--workers 2] [--connections 50] [--systems bearer,dpop,apache]
 *
 * With Apache httpd + mod_auth_openidc installed, Apache validating the same
 * plain bearer token (OIDCOAuthVerifyJwksUri, `Require claim` on iss, aud
 * and scope as in scenario b) runs in the same interleaved rounds: the issue's
 * budget is "bearer with DPoP proof ≥ 1.5× Apache plain bearer (one token)".
 *
 * Plain bearer: one token, sent as wrk's static request. DPoP: one
 * DPoP-bound token from the demo IdP and a fresh proof per request (unique
 * jti, as a real client sends) — pre-generated, more than a round can use,
 * each round with its own set (a reused proof would be a replay → 401, which
 * counts as an error). One wrk thread for both (bench.lua starts each thread at
 * an offset of the list, so two threads would send each other's proofs again).
 * Upstream: nginx `return 200` (1 worker) as in `npm run bench`, when nginx is
 * installed; else the Node echo server (src/dev/echo.ts), which echoes the
 * ~1.5 KB of DPoP headers back and was the limit itself (the gateway's worker
 * was 69% idle in a CPU profile of that run).
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { startEcho } from '../src/dev/echo.ts';
import { startBenchIdp } from './lib/idp.ts';
import { apacheBearer, apacheUnavailable } from './systems/apache.ts';
import { nginxUnavailable, startNginxUpstream } from './systems/nginx.ts';
import { cpuMicros, waitedChildrenCpuMicros } from './lib/proc.ts';
import type { BenchEnv, Target } from './lib/types.ts';
import { boundToken, dpopKey, proof } from '../test/plugins/openid-connect/dpop-helpers.ts';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? d : Number(process.argv[i + 1]);
};
const DURATION = arg('duration', 5);
const ROUNDS = arg('rounds', 2);
const WORKERS = arg('workers', 2);
const CONNECTIONS = arg('connections', 50);
const PER_ROUND = arg('proofs', 150_000);
const ROOT = new URL('..', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

const tmp = mkdtempSync(join(tmpdir(), 'bench-dpop-'));
const benchIdp = await startBenchIdp(tmp);
const idp = benchIdp.idp;
const nginx = nginxUnavailable() === null ? await startNginxUpstream({ tmp }, 1) : null;
const echo = nginx === null ? await startEcho({ host: '127.0.0.1', port: 0 }) : { url: nginx.base, close: () => nginx.stop() };
console.log(`upstream: ${nginx !== null ? 'nginx return 200' : 'Node echo server (nginx not installed)'}`);
// Signature, iss and exp (the DPoP-bound client-credentials token carries no kong_api_access scope); Apache
// checks iss, aud and scope on top (scenario b's `Require claim`): the comparison favours Apache.
const oidc = { issuer: idp.issuer, client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'], bearer_token_param_type: ['header'] };
const doc = {
  _format_version: '3.0',
  services: [{
    name: 'echo',
    url: nginx !== null ? echo.url : `${echo.url}/anything`,
    routes: [
      { name: 'bearer', paths: ['/bearer'], plugins: [{ name: 'openid-connect', config: oidc }] },
      { name: 'dpop', paths: ['/dpop'], plugins: [{ name: 'openid-connect', config: { ...oidc, proof_of_possession_dpop: 'strict' } }] },
    ],
  }],
};
writeFileSync(join(tmp, 'kong.json'), JSON.stringify(doc));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const gw = spawn(process.execPath, [join(ROOT, 'bin/portcullis.js'), 'start', '--proxy-listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${await freePort()}`,
  '--workers', String(WORKERS), '--declarative-config', join(tmp, 'kong.json'), '--log-level', 'warn', '--data-dir', tmp, '--session-secret', randomBytes(32).toString('base64url')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production', ...(process.env.BENCH_GATEWAY_NODE_OPTIONS !== undefined ? { NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_OPTIONS } : {}) } });
let out = '';
let apache: Target | null = null;
gw.stdout!.on('data', (d: Buffer) => { out += d; });
gw.stderr!.on('data', (d: Buffer) => { out += d; });

try {
  const bearerToken = benchIdp.oneToken;
  const echoPort = Number(new URL(echo.url).port);
  const env: BenchEnv = {
    root: ROOT, node: process.execPath, tmp, workers: WORKERS, quick: false, cpuProfDir: null,
    upstream: { base: echo.url, port: echoPort, pid: process.pid, kind: 'node', count: async () => 0, stop: async () => undefined },
    idp: async () => benchIdp,
    log: (m) => console.log(m),
  };
  const whyNoApache = apacheUnavailable();
  if (whyNoApache === null) apache = await apacheBearer('one').start(env);
  else console.log(`Apache not measured: ${whyNoApache}`);
  const key = await dpopKey();
  const dpopToken = await boundToken(idp, key);
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/bearer`, { headers: { authorization: `Bearer ${bearerToken}` } })).status === 200) break;
    } catch { /* not up yet */ }
    if (i > 600) throw new Error(`gateway did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const check = await fetch(`${base}/dpop`, { headers: { authorization: `DPoP ${dpopToken}`, dpop: await proof(key, { htu: `${base}/dpop`, token: dpopToken }) } });
  if (check.status !== 200) throw new Error(`DPoP preflight: ${check.status}`);

  writeFileSync(join(tmp, 'bearer.txt'), `/bearer\tAuthorization: Bearer ${bearerToken}\n`);
  writeFileSync(join(tmp, 'apache.txt'), `/anything\tAuthorization: Bearer ${bearerToken}\n`);
  async function proofFile(round: number): Promise<string> {
    const file = join(tmp, `dpop-${round}.txt`);
    const w = createWriteStream(file);
    for (let i = 0; i < PER_ROUND; i++) {
      w.write(`/dpop\tAuthorization: DPoP ${dpopToken}\tDPoP: ${await proof(key, { htu: `${base}/dpop`, token: dpopToken })}\n`);
    }
    await new Promise((r) => w.end(r));
    return file;
  }

  // CPU per request of each part (user + kernel µs, /proc): the system measured (gateway or Apache process
  // tree), the upstream, and wrk (this process's waited-for children). wrk's figure includes its start-up:
  // for DPoP rounds that is reading and formatting the round's proof file, before its timed run.
  const treeCpu = (pids: number[]): number => { const c = cpuMicros(pids); return c.user + c.system; };
  const upstreamPids = nginx !== null ? [nginx.pid] : [];
  type Cpu = { system: number; upstream: number; wrk: number };
  const wrk = async (file: string, target = base): Promise<{ rps: number; errors: number; p50: number; p99: number; requests: number; cpu: Cpu }> => {
    const systemPids = target === base ? [gw.pid!] : apache!.pids;
    const before = { system: treeCpu(systemPids), upstream: treeCpu(upstreamPids), wrk: waitedChildrenCpuMicros() };
    const { stdout } = await promisify(execFile)('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${DURATION}s`, '-s', join(ROOT, 'bench/lua/bench.lua'), target], { env: { ...process.env, BENCH_REQUESTS: file }, maxBuffer: 1 << 24 });
    const r = JSON.parse(/BENCH_RESULT (.*)/.exec(stdout)![1]!) as { requests: number; duration_us: number; errors: Record<string, number>; latency_us: { p50: number; p99: number } };
    const per = (after: number, from: number): number => (after - from) / Math.max(1, r.requests);
    const cpu = { system: per(treeCpu(systemPids), before.system), upstream: per(treeCpu(upstreamPids), before.upstream), wrk: per(waitedChildrenCpuMicros(), before.wrk) };
    return { rps: r.requests / (r.duration_us / 1e6), errors: Object.values(r.errors).reduce((a, b) => a + b, 0), p50: r.latency_us.p50 / 1000, p99: r.latency_us.p99 / 1000, requests: r.requests, cpu };
  };

  type System = 'bearer' | 'dpop' | 'apache';
  const results: Record<System, Array<Awaited<ReturnType<typeof wrk>>>> = { bearer: [], dpop: [], apache: [] };
  await wrk(join(tmp, 'bearer.txt')); // warm-up
  if (apache !== null) await wrk(join(tmp, 'apache.txt'), apache.base);
  const only = process.argv.includes('--systems') ? process.argv[process.argv.indexOf('--systems') + 1]!.split(',') : null;
  const systems = (apache !== null ? ['bearer', 'dpop', 'apache'] as System[] : ['bearer', 'dpop'] as System[]).filter((s) => only === null || only.includes(s));
  for (let round = 0; round < ROUNDS; round++) {
    const file = await proofFile(round);
    // The first system rotates each round, as in npm run bench.
    const order = systems.map((_, i) => systems[(i + round) % systems.length]!);
    for (const s of order) {
      const r = s === 'apache' ? await wrk(join(tmp, 'apache.txt'), apache!.base) : await wrk(s === 'bearer' ? join(tmp, 'bearer.txt') : file);
      if (s === 'dpop' && r.requests > PER_ROUND) throw new Error(`the round used ${r.requests} requests but only ${PER_ROUND} proofs were made: raise --proofs`);
      results[s].push(r);
      console.log(`round ${round + 1} ${s.padEnd(6)} ${Math.round(r.rps).toLocaleString('en')} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}  CPU µs/request: ${s === 'apache' ? 'Apache' : 'gateway'} ${r.cpu.system.toFixed(0)}, upstream ${r.cpu.upstream.toFixed(0)}, wrk ${r.cpu.wrk.toFixed(0)}`);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const med = (s: System, f: (r: Awaited<ReturnType<typeof wrk>>) => number): number | null => (results[s].length === 0 ? null : median(results[s].map(f)));
  const b = med('bearer', (r) => r.rps);
  const d = med('dpop', (r) => r.rps);
  const a = med('apache', (r) => r.rps);
  const fmt = (x: number | null): string => (x === null ? '—' : Math.round(x).toLocaleString('en'));
  for (const s of systems) console.log(`median ${s.padEnd(6)} ${fmt(med(s, (r) => r.rps))} req/s, p99 ${med(s, (r) => r.p99)!.toFixed(2)} ms, CPU µs/request: ${s === 'apache' ? 'Apache' : 'gateway'} ${fmt(med(s, (r) => r.cpu.system))}, upstream ${fmt(med(s, (r) => r.cpu.upstream))}, wrk ${fmt(med(s, (r) => r.cpu.wrk))}`);
  if (b !== null && d !== null) console.log(`DPoP ÷ bearer = ${(d / b).toFixed(2)}×`);
  if (a !== null && d !== null) console.log(`DPoP ÷ Apache plain bearer = ${(d / a).toFixed(2)}× (budget ≥ 1.5×), DPoP p99 ${med('dpop', (r) => r.p99)!.toFixed(2)} ms vs Apache ${med('apache', (r) => r.p99)!.toFixed(2)} ms`);
  // For npm run bench (scenario l): one line it parses.
  const summary = (s: System): { rps: number; p99: number; cpu: number } | null =>
    results[s].length === 0 ? null : { rps: med(s, (r) => r.rps)!, p99: med(s, (r) => r.p99)!, cpu: med(s, (r) => r.cpu.system)! };
  console.log(`BENCH_DPOP ${JSON.stringify({ rounds: ROUNDS, duration_s: DURATION, systems: { bearer: summary('bearer'), dpop: summary('dpop'), apache: summary('apache') }, dpopVsApache: a !== null && d !== null ? d / a : null, dpopVsBearer: b !== null && d !== null ? d / b : null })}`);
} finally {
  gw.kill('SIGTERM');
  await new Promise((r) => gw.once('exit', r));
  await apache?.stop();
  await Promise.all([benchIdp.close(), echo.close()]);
  rmSync(tmp, { recursive: true, force: true });
}
