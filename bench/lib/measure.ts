/**
 * One measured run of one system: the load generator (separate process)
 * against the target, RSS of the target's process tree sampled from /proc
 * meanwhile, and the upstream's own request counter read before and after so
 * that answers which never reached the upstream (a 3xx the load generator
 * does not flag) count as errors too.
 */
import { request } from 'node:http';
import { runLoad, type LoadTool, type RequestSpec } from './load.ts';
import { RssSampler, cpuMicros } from './proc.ts';
import type { BenchEnv, Target } from './types.ts';

export interface RunRecord {
  round: number;
  requests: number;
  durationS: number;
  rps: number;
  latency: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  errors: {
    /** Answers that were not 2xx: ≥ 400 counted by the load generator, the rest by the upstream's counter. */
    non2xx: number;
    /** connect + read + write + timeout. */
    socket: number;
    connect: number;
    read: number;
    write: number;
    timeout: number;
  };
  upstreamRequests: number;
  /**
   * Rate limit reached (Target.admitsPerSecond): 2xx answers the load generator got (the upstream's
   * own count is a cross-check; it also counts the harness's second stub_status read), 429 answers,
   * and limit × UTC seconds the run touched.
   */
  limit?: { admitted: number; limited: number; expectedAdmitted: number };
  /** Requests the IdP served during the run (null when it is not running). */
  idpRequests: number | null;
  peakRssBytes: number;
  /** Peak of the tree's summed PSS (shared pages counted once); absent in older results. */
  peakPssBytes?: number;
  peakProcessRssBytes: number;
  processes: number;
  /** CPU the system's process tree used per request during the run, µs (utime and stime, /proc). */
  cpuUsPerRequest: { user: number; system: number };
}

export interface MeasureOptions {
  tool: LoadTool;
  durationS: number;
  connections: number;
  threads: number;
  delayMs?: number;
}

/** GET one request spec with node:http (it can set Host), returning status and the first bytes of the body. */
export function httpGet(base: string, spec: RequestSpec, timeoutMs = 10_000): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(spec.path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'GET', headers: { ...(spec.headers ?? {}) }, agent: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (body.length < 2000) body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Before any load: a few of the target's requests (first, middle, last) must
 * answer 200, retried while workers come up. Returns null or the failure.
 */
export async function preflight(target: Target, timeoutMs = 20_000): Promise<string | null> {
  const r = target.requests;
  const picks = [...new Set([0, Math.floor(r.length / 2), r.length - 1])].map((i) => r[i]!);
  const until = Date.now() + timeoutMs;
  let failure = '';
  for (const spec of picks) {
    for (;;) {
      try {
        const res = await httpGet(target.base, spec);
        if (res.status === 200) break;
        failure = `GET ${spec.path} → ${res.status} ${res.headers['www-authenticate'] !== undefined ? `(WWW-Authenticate: ${String(res.headers['www-authenticate'])}) ` : ''}${res.body.slice(0, 300).replace(/\s+/g, ' ')}`;
      } catch (err) {
        failure = `GET ${spec.path} → ${(err as Error).message}`;
      }
      if (Date.now() > until) return failure;
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  return null;
}

export async function measure(env: BenchEnv, target: Target, opts: MeasureOptions, round: number, idpCount: (() => number) | null): Promise<RunRecord> {
  const upstreamBefore = await env.upstream.count();
  const idpBefore = idpCount?.() ?? 0;
  const limited = target.admitsPerSecond !== undefined;
  // Start 100 ms into a second: every second the run touches (first and last included) sees far more
  // requests than the limit, so the node should admit exactly limit × seconds.
  if (limited) await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
  const startedAt = Date.now();
  const sampler = new RssSampler(target.pids, { intervalMs: 250 });
  const cpuBefore = cpuMicros(target.pids);
  let load;
  try {
    load = await runLoad(opts.tool, {
      base: target.base,
      requests: target.requests,
      durationS: opts.durationS,
      connections: opts.connections,
      threads: opts.threads,
      delayMs: opts.delayMs,
      workDir: env.tmp,
      countStatus: limited,
    });
  } finally {
    sampler.stop();
  }
  const endedAt = Date.now();
  const cpuAfter = cpuMicros(target.pids);
  // Requests still in flight when the load generator stopped reach the upstream after it returned.
  await new Promise((r) => setTimeout(r, 200));
  const upstreamRequests = (await env.upstream.count()) - upstreamBefore;
  // A cache answers without the upstream; a 429 never reaches it either.
  const unseen = target.caches === true ? 0 : Math.max(0, load.requests - upstreamRequests);
  const e = load.errors;
  const s429 = load.statuses?.limited ?? 0;
  return {
    round,
    requests: load.requests,
    durationS: load.durationS,
    rps: load.rps,
    latency: load.latency,
    errors: {
      non2xx: Math.max(0, Math.max(e.status, unseen) - s429),
      socket: e.connect + e.read + e.write + e.timeout,
      connect: e.connect,
      read: e.read,
      write: e.write,
      timeout: e.timeout,
    },
    upstreamRequests,
    ...(limited
      ? { limit: { admitted: load.requests - s429 - (load.statuses?.other ?? 0) - e.connect - e.read - e.write - e.timeout, limited: s429, expectedAdmitted: target.admitsPerSecond! * (Math.floor(endedAt / 1000) - Math.floor(startedAt / 1000) + 1) } }
      : {}),
    idpRequests: idpCount === null ? null : idpCount() - idpBefore,
    peakRssBytes: sampler.peakTotal,
    peakPssBytes: sampler.peakPss,
    peakProcessRssBytes: sampler.peakProcess,
    processes: sampler.processes,
    cpuUsPerRequest: {
      user: load.requests > 0 ? Math.max(0, cpuAfter.user - cpuBefore.user) / load.requests : 0,
      system: load.requests > 0 ? Math.max(0, cpuAfter.system - cpuBefore.system) / load.requests : 0,
    },
  };
}
