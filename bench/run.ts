/**
 * `npm run bench` — Portcullis against nginx, Apache + mod_auth_openidc and
 * the direct upstream, on loopback, with the load generator in a separate
 * process, the systems of each scenario interleaved in one run (issue 5).
 * See bench/README.md.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { parseArgs, USAGE, type BenchOptions } from './lib/args.ts';
import { pickLoadTool, type LoadTool } from './lib/load.ts';
import { measure, preflight } from './lib/measure.ts';
import { startBenchIdp, type BenchIdp } from './lib/idp.ts';
import { collectConditions, loadAverage } from './lib/conditions.ts';
import { computeRatios, consoleTable, evaluateBudget, markdown, summarize, type BenchReport, type DpopResult, type RouteCompileResult, type ScenarioResult, type SystemResult } from './lib/report.ts';
import { runSoak } from './lib/soak.ts';
import { hotFunctions, profilesIn } from './lib/profile.ts';
import { killAllServicesNow, liveServices, stopAllServices } from './lib/proc.ts';
import type { BenchEnv, Scenario, Target } from './lib/types.ts';
import { selectScenarios, SCENARIOS } from './scenarios.ts';
import { startUpstream } from './systems/upstream.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

function oneLine(err: unknown, max = 600): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').slice(0, max);
}

const live = new Set<Target>();

async function startTargets(env: BenchEnv, scenario: Scenario, opts: BenchOptions): Promise<Array<{ result: SystemResult; target: Target | null }>> {
  const out: Array<{ result: SystemResult; target: Target | null }> = [];
  for (const spec of scenario.systems) {
    const result: SystemResult = { kind: spec.kind, label: spec.label, status: 'ok', notes: [], runs: [] };
    out.push({ result, target: null });
    if (opts.systems !== null && !opts.systems.includes(spec.kind)) {
      result.status = 'skipped';
      result.reason = 'not selected (--systems)';
      continue;
    }
    const why = spec.unavailable();
    if (why !== null) {
      result.status = 'skipped';
      result.reason = why;
      log(`  ${spec.label}: skipped (${why})`);
      continue;
    }
    const t0 = Date.now();
    const before = new Set(liveServices());
    let target: Target;
    try {
      target = await spec.start(env);
    } catch (err) {
      result.status = 'failed';
      result.reason = `start: ${oneLine(err)}`;
      log(`  ${spec.label}: FAILED to start — ${result.reason}`);
      // A step after the process started (a login, a check) failed: stop what this start left running.
      for (const s of liveServices()) if (!before.has(s)) await s.stop();
      continue;
    }
    live.add(target);
    result.label = target.label;
    result.notes = target.notes;
    const failure = await preflight(target);
    if (failure !== null) {
      result.status = 'failed';
      result.reason = `preflight: ${failure}`;
      log(`  ${target.label}: FAILED preflight — ${failure}`);
      live.delete(target);
      await target.stop();
      continue;
    }
    log(`  ${target.label}: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    out[out.length - 1]!.target = target;
  }
  return out;
}

async function runScenario(env: BenchEnv, scenario: Scenario, opts: BenchOptions, tool: LoadTool, idpCounter: () => (() => number) | null): Promise<ScenarioResult> {
  log(`\n== ${scenario.title}`);
  const systems = await startTargets(env, scenario, opts);
  const running = systems.filter((s) => s.target !== null);
  // The direct baseline sends the scenario's own requests (tokens, cookie, route mix), so the
  // load generator does the same work against every system; the upstream ignores them.
  const model = running.find((s) => s.target!.kind !== 'direct')?.target ?? null;
  for (const s of running) if (s.target!.kind === 'direct' && model !== null) s.target!.requests = model.requests;
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      // Interleave: every system once per round, the starting system rotating between rounds.
      const order = running.map((_, i) => running[(i + round - 1) % running.length]!);
      for (const s of order) {
        if (s.result.status !== 'ok' || s.target === null) continue;
        try {
          if (round === 1 && opts.warmup > 0) {
            await measure(env, s.target, { tool, durationS: opts.warmup, connections: opts.connections, threads: opts.threads }, 0, null);
          }
          const rec = await measure(env, s.target, { tool, durationS: opts.duration, connections: opts.connections, threads: opts.threads }, round, idpCounter());
          s.result.runs.push(rec);
          const errs = rec.errors.non2xx + rec.errors.socket;
          log(`  round ${round} ${s.result.label.padEnd(34)} ${Math.round(rec.rps).toString().padStart(7)} req/s  p50 ${rec.latency.p50.toFixed(2)} p99 ${rec.latency.p99.toFixed(2)} p99.9 ${rec.latency.p999.toFixed(2)} ms  errors ${errs}  RSS ${(rec.peakRssBytes / 2 ** 20).toFixed(0)} MB${rec.idpRequests !== null && s.result.kind !== 'direct' ? `  IdP calls ${rec.idpRequests}` : ''}${rec.limit !== undefined ? `  admitted ${rec.limit.admitted} of ${rec.limit.expectedAdmitted} (${(rec.limit.admitted / rec.limit.expectedAdmitted).toFixed(4)}; upstream saw ${rec.upstreamRequests}), 429 × ${rec.limit.limited}` : ''}`);
        } catch (err) {
          s.result.status = 'failed';
          s.result.reason = `load: ${oneLine(err)}`;
          log(`  ${s.result.label}: FAILED under load — ${s.result.reason}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    for (const s of running) {
      if (s.target === null) continue;
      live.delete(s.target);
      await s.target.stop();
      if (s.target.profileDir !== undefined) attachProfile(s.result, s.target.profileDir);
    }
  }
  const result: ScenarioResult = { id: scenario.id, title: scenario.title, description: scenario.description, peer: scenario.peer, systems: systems.map((s) => s.result) };
  for (const s of result.systems) {
    if (s.status === 'ok' && s.runs.length > 0) s.summary = summarize(s.runs);
    else if (s.status === 'ok') {
      s.status = 'failed';
      s.reason ??= 'no measurement';
    }
  }
  computeRatios(result);
  if (scenario.id === 'e') {
    try {
      result.routeCompile = await routeCompile(env);
    } catch (err) {
      log(`  route compilation micro-benchmark failed: ${oneLine(err)}`);
    }
  }
  log(consoleTable(result));
  if (result.routeCompile !== undefined) log(`  route compilation, ${result.routeCompile.routes} routes: ${result.routeCompile.compileMs.toFixed(1)} ms (median)`);
  return result;
}

/** The busiest process's profile (the most non-idle samples: a worker under load), summarised. */
function attachProfile(result: SystemResult, dir: string): void {
  let best: ReturnType<typeof hotFunctions> | null = null;
  let bestFile = '';
  for (const file of profilesIn(dir)) {
    const h = hotFunctions(file, ROOT, 20);
    if (best === null || h.busy > best.busy) {
      best = h;
      bestFile = file;
    }
  }
  if (best === null) {
    log(`  ${result.label}: no CPU profile was written in ${dir}`);
    return;
  }
  result.profile = { file: relative(ROOT, bestFile), samples: best.samples, functions: best.functions };
  log(`  ${result.label}: CPU profile ${relative(ROOT, bestFile)} — hottest (self time):`);
  for (const f of best.functions.slice(0, 12)) log(`    ${f.selfPct.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
}

/** bench/micro/route-compile.ts in its own process (a fresh heap, like a gateway start). */
function routeCompile(env: BenchEnv): Promise<RouteCompileResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(env.node, [join(ROOT, 'bench/micro/route-compile.ts'), '--json', '--routes', '10000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) reject(new Error(`route-compile exited ${code}: ${err || out}`));
      else resolvePromise(JSON.parse(line) as RouteCompileResult);
    });
  });
}

/** `--render FILE.json`: the figures of a past run, summarised again with the current report code. */
function render(file: string): number {
  const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  for (const s of report.scenarios) {
    for (const x of s.systems) if (x.status === 'ok' && x.runs.length > 0) x.summary = summarize(x.runs);
    computeRatios(s);
  }
  report.budget = evaluateBudget(report);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(report);
  writeFileSync(file.replace(/\.json$/, '.md'), `${md}\n`);
  if (report.mode !== 'soak') writeFileSync(join(dirname(file), 'latest.md'), `${md}\n`);
  for (const s of report.scenarios) log(`\n== ${s.title}\n${consoleTable(s)}`);
  log('\n== budget (issue 5)');
  for (const b of report.budget) log(`  ${b.pass === null ? '—   ' : b.pass ? 'pass' : 'FAIL'}  ${b.name}: ${b.value === null ? 'not measured' : Number.isInteger(b.value) ? String(b.value) : b.value.toFixed(2)} (budget ${b.threshold})`);
  return 0;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.render !== undefined) return render(resolve(opts.render));
  // Scenario (l), DPoP vs Apache, is its own script (bench/dpop-vs-bearer.ts): it needs a fresh proof per request.
  const wanted = opts.scenario === undefined || opts.scenario === '' || opts.scenario === 'all' ? null : opts.scenario.split(',').map((s) => s.trim());
  const runDpop = opts.soak === 0 && (wanted === null || wanted.includes('l'));
  const others = wanted === null ? undefined : wanted.filter((w) => w !== 'l').join(',');
  const scenarios = opts.soak > 0 || others === '' ? [] : selectScenarios(others);
  const tool = await pickLoadTool(opts.loadTool);
  const started = new Date();
  // realpath: the peers' configuration files need absolute, symlink-free paths.
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'portcullis-bench-')));
  chmodSync(tmp, 0o755);
  const node = process.execPath;
  log(`Portcullis bench (${opts.soak > 0 ? 'soak' : opts.quick ? 'quick' : 'full'}): ${tool}, ${opts.connections} connections, ${opts.threads} threads, ${opts.workers} workers, ${opts.duration} s × ${opts.rounds} round(s); temp ${tmp}`);
  log(`load average ${loadAverage()}`);

  const upstream = await startUpstream({ tmp, node }, opts.upstream, opts.upstreamWorkers);
  let idp: BenchIdp | null = null;
  let idpStarting: Promise<BenchIdp> | null = null;
  const env: BenchEnv = {
    root: ROOT,
    node,
    tmp,
    workers: opts.workers,
    quick: opts.quick,
    cpuProfDir: opts.cpuProf ? join(resolve(ROOT, opts.outDir), 'profiles', timestamp(started)) : null,
    upstream,
    idp: () => {
      idpStarting ??= startBenchIdp(tmp).then((i) => (idp = i));
      return idpStarting;
    },
    log,
  };
  const idpCounter = (): (() => number) | null => (idp === null ? null : () => idp!.idp.requestCount());

  let interrupted = false;
  const cleanup = async (): Promise<void> => {
    for (const t of live) await t.stop().catch(() => {});
    live.clear();
    await upstream.stop().catch(() => {});
    await stopAllServices();
    if (idp !== null) await idp.close().catch(() => {});
    if (!opts.keepTemp) rmSync(tmp, { recursive: true, force: true });
  };
  const interrupt = (why: string): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${why}: stopping every process the bench started\n`);
    void cleanup().then(() => process.exit(130));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => interrupt(signal));
  // A closed stdout (`npm run bench | head`) must not leave the peers running.
  process.stdout.on('error', () => interrupt('stdout closed'));
  process.once('exit', killAllServicesNow);

  const conditions = collectConditions(ROOT, tool, upstream.kind);
  const report: BenchReport = {
    startedAt: started.toISOString(),
    finishedAt: '',
    mode: opts.soak > 0 ? 'soak' : opts.quick ? 'quick' : 'full',
    conditions,
    options: {
      duration_s: opts.duration,
      warmup_s: opts.warmup,
      rounds: opts.rounds,
      connections: opts.connections,
      threads: opts.threads,
      workers: opts.workers,
      upstream_workers: opts.upstreamWorkers,
      scenarios: opts.soak > 0 ? [opts.scenario ?? 'bN'] : [...scenarios.map((s) => s.id), ...(runDpop ? ['l'] : [])],
      systems: opts.systems ?? 'all',
    },
    scenarios: [],
    budget: [],
  };
  try {
    if (opts.soak > 0) {
      const id = opts.scenario ?? 'bN';
      const scenario = SCENARIOS.find((s) => s.id === id);
      if (scenario === undefined) throw new Error(`soak: unknown scenario ${id}`);
      report.soak = await runSoak(env, scenario, opts, tool, (t) => live.add(t), (t) => live.delete(t));
    } else {
      for (const s of scenarios) {
        if (interrupted) break;
        report.scenarios.push(await runScenario(env, s, opts, tool, idpCounter));
      }
    }
  } finally {
    if (!interrupted) await cleanup();
  }
  if (interrupted) return 130;
  // After everything else stopped: the script starts its own upstream, IdP, Apache and gateway.
  if (runDpop) report.dpop = await runDpopScenario(opts);
  report.finishedAt = new Date().toISOString();
  report.conditions['load average at end (1/5/15 min)'] = loadAverage();
  report.budget = evaluateBudget(report);

  const outDir = resolve(ROOT, opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const name = `${timestamp(started)}${opts.soak > 0 ? '-soak' : opts.quick ? '-quick' : ''}`;
  const latest = opts.soak > 0 ? 'latest-soak.md' : 'latest.md';
  const md = markdown(report);
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, `${name}.md`), `${md}\n`);
  writeFileSync(join(outDir, latest), `${md}\n`);
  log('\n== budget (issue 5)');
  for (const b of report.budget) {
    const v = b.value === null ? 'not measured' : Number.isInteger(b.value) ? String(b.value) : b.value.toFixed(2);
    log(`  ${b.pass === null ? '—   ' : b.pass ? 'pass' : 'FAIL'}  ${b.name}: ${v} (budget ${b.threshold})`);
  }
  log(`\nresults: ${join(opts.outDir, `${name}.json`)}, ${join(opts.outDir, `${name}.md`)}, ${join(opts.outDir, latest)}`);
  // The bench reports; it does not fail on a missed budget (CI runs --quick to prove it still works).
  const broken = report.scenarios.some((s) => s.systems.some((x) => x.status === 'failed'));
  return broken ? 1 : 0;
}

/** Scenario (l): bench/dpop-vs-bearer.ts in a child process, its output shown, its BENCH_DPOP line kept. */
async function runDpopScenario(opts: BenchOptions): Promise<DpopResult> {
  const rounds = opts.rounds;
  const duration = opts.duration;
  log('\n== (l) bearer token with a DPoP proof vs Apache plain bearer (bench/dpop-vs-bearer.ts)');
  const args = [join(ROOT, 'bench/dpop-vs-bearer.ts'), '--duration', String(duration), '--rounds', String(rounds), '--workers', String(opts.workers), '--connections', String(opts.connections)];
  // Enough unique proofs for a round: a reused one is a replay (401), counted as an error.
  if (opts.quick) args.push('--proofs', '60000');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let partial = '';
  const onData = (d: Buffer): void => {
    partial += d.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      out += `${line}\n`;
      if (!line.startsWith('BENCH_DPOP ')) log(`  ${line}`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const m = /^BENCH_DPOP (.*)$/m.exec(out);
  if (code !== 0 || m === null) {
    return { rounds, duration_s: duration, systems: {}, dpopVsApache: null, dpopVsBearer: null, failed: `bench/dpop-vs-bearer.ts exited with ${code}` };
  }
  const r = JSON.parse(m[1]!) as Omit<DpopResult, 'failed'>;
  return r.dpopVsApache === null ? { ...r, failed: 'Apache httpd with mod_auth_openidc is not installed' } : r;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
