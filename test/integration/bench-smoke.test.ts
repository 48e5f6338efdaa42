/**
 * The benchmark harness (bench/, `npm run bench`) keeps working: its route
 * mix really matches the routes it claims to exercise, the wrk driver sends
 * the rotating requests and reads back latency percentiles, and the report
 * states ratios and budget verdicts. No timing is asserted here (issue 5:
 * benchmarks stay out of the test suite's timing assertions); the load run
 * is one second on two connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeclarative } from '../../src/store/declarative/index.ts';
import { compileRouter } from '../../src/core/router/compile.ts';
import { normalizePath } from '../../src/core/router/normalize.ts';
import { routesDocument, sampleIndices, requestFor, routeKind } from '../../bench/lib/routes.ts';
import { runLoad, wrkAvailable } from '../../bench/lib/load.ts';
import { sampleRss } from '../../bench/lib/proc.ts';
import { computeRatios, evaluateBudget, markdown, summarize, type BenchReport, type ScenarioResult } from '../../bench/lib/report.ts';
import type { RunRecord } from '../../bench/lib/measure.ts';
import { parseArgs } from '../../bench/lib/args.ts';

test('every request of the 1,000-route bench mix reaches the route it was generated for (prefix, host and regex)', () => {
  const parsed = parseDeclarative(JSON.stringify(routesDocument(1000, 'http://127.0.0.1:9/')), { format: 'json' });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  const router = compileRouter(parsed.config.routes, parsed.config.services);
  assert.equal(router.size, 1000);
  const indices = sampleIndices(1000, 100);
  assert.equal(indices.length, 100);
  assert.equal(indices[indices.length - 1], 999, 'the last route of the table is exercised');
  const kinds = new Set<string>();
  for (const i of indices) {
    const r = requestFor(i);
    const host = r.headers?.Host ?? 'localhost';
    const m = router.match({ method: 'GET', host, port: 8000, path: normalizePath(r.path)!, headers: { host }, sni: null, scheme: 'http' });
    assert.equal(m?.route.name, `r${i}`, `${host}${r.path}`);
    kinds.add(routeKind(i));
  }
  assert.deepEqual([...kinds].sort(), ['host', 'prefix', 'regex']);
});

test('the wrk driver rotates through every request of its list and reports latency percentiles and errors', { skip: wrkAvailable() ? false : 'wrk is not installed' }, async () => {
  const seen = new Set<string>();
  let served = 0;
  const server = createServer((req, res) => {
    served++;
    seen.add(String(req.headers.authorization));
    const status = req.url === '/fail' ? 503 : 200;
    res.writeHead(status, { 'content-length': '2' });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const requests = Array.from({ length: 5 }, (_, i) => ({ path: '/', headers: { Authorization: `Bearer token-${i}` } }));
    const r = await runLoad('wrk', { base, requests, durationS: 1, connections: 2, threads: 1, workDir: dir });
    assert.ok(r.requests > 0);
    assert.ok(r.requests <= served, 'wrk only counts answered requests');
    assert.deepEqual([...seen].sort(), requests.map((x) => x.headers.Authorization).sort());
    assert.ok(r.latency.p50 > 0 && r.latency.p99 >= r.latency.p50 && r.latency.p999 >= r.latency.p99);
    assert.equal(r.errors.status, 0);

    const failing = await runLoad('wrk', { base, requests: [{ path: '/fail' }], durationS: 1, connections: 1, threads: 1, workDir: dir });
    assert.equal(failing.errors.status, failing.requests, 'every 503 is counted as an error');
  } finally {
    server.close();
    server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  }
});

function run(rps: number, p99: number, errors = 0): RunRecord {
  return {
    round: 1,
    requests: rps * 10,
    durationS: 10,
    rps,
    latency: { mean: 1, p50: 1, p90: 2, p99, p999: p99 * 2, max: p99 * 3 },
    errors: { non2xx: errors, socket: 0, connect: 0, read: 0, write: 0, timeout: 0 },
    upstreamRequests: rps * 10,
    idpRequests: null,
    peakRssBytes: 100 * 2 ** 20,
    peakProcessRssBytes: 40 * 2 ** 20,
    processes: 3,
    cpuUsPerRequest: { user: 10, system: 12 },
  };
}

test('the report divides each Portcullis figure by the peer and the direct upstream and states the budget verdicts', () => {
  const scenario: ScenarioResult = {
    id: 'b1',
    title: '(b) bearer JWT, one token repeated',
    description: 'd',
    peer: 'apache',
    systems: [
      { kind: 'direct', label: 'direct upstream', status: 'ok', notes: [], runs: [run(40_000, 2)] },
      { kind: 'apache', label: 'apache mod_auth_openidc', status: 'ok', notes: [], runs: [run(4_000, 20)] },
      { kind: 'portcullis', label: 'portcullis', status: 'ok', notes: ['n'], runs: [run(8_000, 10), run(10_000, 12)] },
    ],
  };
  for (const s of scenario.systems) s.summary = summarize(s.runs);
  computeRatios(scenario);
  const p = scenario.systems[2]!;
  assert.equal(p.summary!.rps, 9_000);
  assert.equal(p.ratios!.peerRps, 9_000 / 4_000);
  assert.equal(p.ratios!.peerP99, 11 / 20);
  assert.equal(p.ratios!.directRps, 9_000 / 40_000);
  const report: BenchReport = { startedAt: 'now', finishedAt: 'later', mode: 'quick', conditions: { cpu: 'test' }, options: {}, scenarios: [scenario], budget: [] };
  report.budget = evaluateBudget(report);
  const rpsCheck = report.budget.find((b) => b.name.includes('one token: req/s'));
  assert.equal(rpsCheck?.pass, true);
  assert.equal(report.budget.find((b) => b.name.includes('one token: p99'))?.pass, true);
  const md = markdown(report);
  assert.match(md, /\| portcullis \| 9,000 \|/);
  assert.match(md, /2\.25×/);
  assert.match(md, /CPU µs\/req user \+ kernel/);
  assert.match(md, /\| 10\.0 \+ 12\.0 = 22\.0 \|/, 'CPU per request of each system, user + kernel');
  assert.match(md, /## Budget/);
});

test('bench options: --quick shortens every run, --scenario and --workers are honoured, unknown options are refused', () => {
  const q = parseArgs(['--quick', '--scenario', 'a,b', '--workers', '2']);
  assert.equal(q.quick, true);
  assert.equal(q.duration, 3);
  assert.equal(q.rounds, 1);
  assert.equal(q.scenario, 'a,b');
  assert.equal(q.workers, 2);
  assert.equal(parseArgs([]).duration, 8);
  assert.equal(parseArgs([]).rounds, 3);
  assert.throws(() => parseArgs(['--nope']), /unknown option --nope/);
});

test('scenario (l), DPoP vs Apache, is a budget line of npm run bench: ≥ 1.5× passes, below fails, not run says why', () => {
  const base = { rounds: 3, duration_s: 8, systems: { bearer: { rps: 13_000, p99: 10, cpu: 90 }, dpop: { rps: 8_100, p99: 24, cpu: 186 }, apache: { rps: 4_800, p99: 40, cpu: 310 } }, dpopVsBearer: 8_100 / 13_000 };
  const report: BenchReport = { startedAt: 'now', finishedAt: 'later', mode: 'full', conditions: {}, options: {}, scenarios: [], budget: [], dpop: { ...base, dpopVsApache: 8_100 / 4_800 } };
  report.budget = evaluateBudget(report);
  const line = report.budget.find((b) => b.name.startsWith('(l)'));
  assert.equal(line?.pass, true);
  assert.equal(line?.threshold, '≥ 1.5×');
  const md = markdown(report);
  assert.match(md, /## \(l\) bearer token with a DPoP proof/);
  assert.match(md, /\| dpop \| 8,100 \| 24\.00 \| 186 \|/);

  report.dpop = { ...base, dpopVsApache: 1.44 };
  assert.equal(evaluateBudget(report).find((b) => b.name.startsWith('(l)'))?.pass, false);
  report.dpop = { rounds: 3, duration_s: 8, systems: {}, dpopVsApache: null, dpopVsBearer: null, failed: 'Apache httpd with mod_auth_openidc is not installed' };
  const missing = evaluateBudget(report).find((b) => b.name.startsWith('(l)'));
  assert.equal(missing?.pass, null);
  assert.match(markdown({ ...report, budget: evaluateBudget(report) }), /not installed/);
});

test('memory of a process tree: PSS counts the pages its processes share once, so the tree\'s PSS is below its RSS sum', async () => {
  // This process and a child node: the node binary's pages are mapped by both.
  const child = spawn(process.execPath, ['-e', 'process.stdout.write("up"); setTimeout(() => {}, 30_000)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await once(child.stdout!, 'data');
    const tree = sampleRss([process.pid]);
    assert.ok(tree.processes >= 2, `processes ${tree.processes}`);
    assert.ok(tree.pss > 0, 'PSS read');
    // At least ~20 MB of the binary is resident in both: counted twice in the RSS sum, once in PSS.
    assert.ok(tree.total - tree.pss > 20 * 2 ** 20, `rss ${tree.total} pss ${tree.pss}`);
  } finally {
    child.kill();
  }
});
