/**
 * Soak mode (`--soak SECONDS`): the Portcullis system of one scenario, first
 * at full load to find its peak, then for SECONDS at half of it (a fixed
 * offered load: each connection pauses between requests), RSS of the whole
 * process tree sampled every 5 s. Memory is "flat" when the end is within
 * 10% of the level reached after warm-up (issue 5).
 */
import type { BenchOptions } from './args.ts';
import { runLoad, type LoadTool } from './load.ts';
import { measure, preflight } from './measure.ts';
import { RssSampler } from './proc.ts';
import type { SoakResult } from './report.ts';
import type { BenchEnv, Scenario, Target } from './types.ts';

const SAMPLE_MS = 5000;
const PAUSE_MS = 20;

export async function runSoak(env: BenchEnv, scenario: Scenario, opts: BenchOptions, tool: LoadTool, track: (t: Target) => void, untrack: (t: Target) => void): Promise<SoakResult> {
  const spec = scenario.systems.find((s) => s.kind === 'portcullis');
  if (spec === undefined) throw new Error(`scenario ${scenario.id} has no Portcullis system`);
  const why = spec.unavailable();
  if (why !== null) throw new Error(why);
  env.log(`\n== soak: ${scenario.title}, ${opts.soak} s at 50% of peak`);
  const target = await spec.start(env);
  track(target);
  try {
    const failure = await preflight(target);
    if (failure !== null) throw new Error(`preflight: ${failure}`);
    const peakS = Math.max(opts.duration, opts.quick ? 2 : 10);
    await measure(env, target, { tool, durationS: Math.max(1, opts.warmup), connections: opts.connections, threads: opts.threads }, 0, null);
    const peak = await measure(env, target, { tool, durationS: peakS, connections: opts.connections, threads: opts.threads }, 0, null);
    const targetRps = peak.rps / 2;
    env.log(`  peak ${Math.round(peak.rps)} req/s → offering ${Math.round(targetRps)} req/s`);

    // Closed loop: each connection sends one request per (pause + latency); calibrate the connection count once.
    let connections = Math.max(1, Math.round((targetRps * (PAUSE_MS + peak.latency.p50 / 2)) / 1000));
    const calib = await measure(env, target, { tool, durationS: Math.min(5, peakS), connections, threads: opts.threads, delayMs: PAUSE_MS }, 0, null);
    if (calib.rps > 0) connections = Math.max(1, Math.round((connections * targetRps) / calib.rps));
    env.log(`  ${connections} connections with a ${PAUSE_MS} ms pause (calibration gave ${Math.round(calib.rps)} req/s)`);

    const upstreamBefore = await env.upstream.count();
    const sampler = new RssSampler(target.pids, { intervalMs: SAMPLE_MS, keepSamples: true });
    const progress = setInterval(() => {
      const last = sampler.samples[sampler.samples.length - 1];
      if (last !== undefined) env.log(`  t=${last.t.toFixed(0)} s RSS ${(last.total / 2 ** 20).toFixed(1)} MB`);
    }, 60_000);
    let load;
    try {
      load = await runLoad(tool, { base: target.base, requests: target.requests, durationS: opts.soak, connections, threads: opts.threads, delayMs: PAUSE_MS, workDir: env.tmp });
    } finally {
      clearInterval(progress);
      sampler.stop();
    }
    await new Promise((r) => setTimeout(r, 200));
    const upstreamRequests = (await env.upstream.count()) - upstreamBefore;

    const MB = 2 ** 20;
    const samples = sampler.samples.map((s) => ({ t: s.t, rssMB: s.total / MB, maxProcessMB: s.maxProcess / MB }));
    const warm = Math.max(SAMPLE_MS / 1000, opts.soak * 0.1);
    const baseline = samples.find((s) => s.t >= warm) ?? samples[0]!;
    const tail = samples.slice(-3);
    const finalMB = tail.reduce((a, s) => a + s.rssMB, 0) / tail.length;
    const e = load.errors;
    return {
      scenario: scenario.id,
      durationS: opts.soak,
      peakRps: peak.rps,
      targetRps,
      achievedRps: load.rps,
      connections,
      delayMs: PAUSE_MS,
      errors: { non2xx: Math.max(e.status, load.requests - upstreamRequests), socket: e.connect + e.read + e.write + e.timeout },
      samples,
      baselineMB: baseline.rssMB,
      finalMB,
      growthPct: ((finalMB - baseline.rssMB) / baseline.rssMB) * 100,
      p99: load.latency.p99,
    };
  } finally {
    untrack(target);
    await target.stop();
  }
}
