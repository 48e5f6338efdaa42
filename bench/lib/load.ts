/**
 * The load generator, always a separate process: `wrk` (Debian's package)
 * with bench/lua/bench.lua, or — only when wrk is not installed —
 * `autocannon` run in a child Node process (bench/lib/autocannon-child.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export interface RequestSpec {
  path: string;
  /** Extra request headers (Host, Authorization, Cookie …). */
  headers?: Record<string, string>;
}

export interface LoadOptions {
  /** http://127.0.0.1:PORT */
  base: string;
  requests: RequestSpec[];
  durationS: number;
  connections: number;
  threads: number;
  /** Pause per request per connection (soak at a fixed offered load). */
  delayMs?: number;
  /** Directory for the requests file. */
  workDir: string;
  /** Count 429 answers apart from other non-2xx ones (wrk only). */
  countStatus?: boolean;
}

export interface LoadResult {
  tool: 'wrk' | 'autocannon';
  requests: number;
  durationS: number;
  rps: number;
  /** Milliseconds. */
  latency: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  errors: {
    /** Responses with status ≥ 400 (wrk) / non-2xx (autocannon). */
    status: number;
    connect: number;
    read: number;
    write: number;
    timeout: number;
  };
  /** With countStatus: 429 answers, and other non-2xx answers. */
  statuses?: { limited: number; other: number };
}

export type LoadTool = 'wrk' | 'autocannon';

const LUA = fileURLToPath(new URL('../lua/bench.lua', import.meta.url));
const AUTOCANNON_CHILD = fileURLToPath(new URL('./autocannon-child.ts', import.meta.url));

export function wrkAvailable(): boolean {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return r.error === undefined;
}

/** `wrk` when installed, else `autocannon` when it can be imported, else an explanation. */
export async function pickLoadTool(wanted: LoadTool | 'auto'): Promise<LoadTool> {
  if (wanted !== 'autocannon' && wrkAvailable()) return 'wrk';
  if (wanted === 'wrk') throw new Error('wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)');
  try {
    const name = 'autocannon';
    await import(name);
    return 'autocannon';
  } catch {
    throw new Error('no load generator: install wrk (apt-get install -y wrk), or autocannon (npm install --no-save autocannon)');
  }
}

let fileSeq = 0;

function writeRequests(workDir: string, requests: RequestSpec[]): string {
  const file = join(workDir, `requests-${process.pid}-${++fileSeq}.tsv`);
  const lines = requests.map((r) => {
    const fields = [r.path];
    for (const [k, v] of Object.entries(r.headers ?? {})) {
      if (/[\t\r\n]/.test(k + v)) throw new Error(`request header ${k} contains a tab or newline`);
      fields.push(`${k}: ${v}`);
    }
    return fields.join('\t');
  });
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export async function runLoad(tool: LoadTool, opts: LoadOptions): Promise<LoadResult> {
  if (opts.requests.length === 0) throw new Error('no requests to send');
  return tool === 'wrk' ? runWrk(opts) : runAutocannon(opts);
}

function collect(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function runWrk(opts: LoadOptions): Promise<LoadResult> {
  const file = writeRequests(opts.workDir, opts.requests);
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_REQUESTS: file };
  if (opts.delayMs !== undefined) env.BENCH_DELAY_MS = String(opts.delayMs);
  if (opts.countStatus === true) env.BENCH_COUNT_STATUS = '1';
  const threads = Math.max(1, Math.min(opts.threads, opts.connections));
  // wrk takes whole seconds.
  const seconds = Math.max(1, Math.round(opts.durationS));
  const args = ['-t', String(threads), '-c', String(opts.connections), '-d', `${seconds}s`, '--timeout', '10s', '-s', LUA, opts.base];
  const { code, stdout, stderr } = await collect('wrk', args, env, (opts.durationS + 60) * 1000);
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
  const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as {
    requests: number;
    status_429: number;
    status_other: number;
    duration_us: number;
    errors: LoadResult['errors'];
    latency_us: { mean: number; max: number; p50: number; p90: number; p99: number; p999: number };
  };
  const durationS = r.duration_us / 1e6;
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    tool: 'wrk',
    requests: r.requests,
    durationS,
    rps: durationS > 0 ? r.requests / durationS : 0,
    latency: { mean: ms(r.latency_us.mean), p50: ms(r.latency_us.p50), p90: ms(r.latency_us.p90), p99: ms(r.latency_us.p99), p999: ms(r.latency_us.p999), max: ms(r.latency_us.max) },
    errors: r.errors,
    ...(r.status_429 >= 0 ? { statuses: { limited: r.status_429, other: r.status_other } } : {}),
  };
}

async function runAutocannon(opts: LoadOptions): Promise<LoadResult> {
  const file = writeRequests(opts.workDir, opts.requests);
  const node = process.execPath;
  const args = [AUTOCANNON_CHILD, opts.base, file, String(opts.durationS), String(opts.connections), String(opts.threads), String(opts.delayMs ?? 0)];
  const { code, stdout, stderr } = await collect(node, args, process.env, (opts.durationS + 60) * 1000);
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (code !== 0 || line === undefined) throw new Error(`autocannon failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as LoadResult;
}
