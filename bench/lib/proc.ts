/**
 * Child processes of the bench (upstream, peers, gateway, load generator):
 * each runs in its own process group with its output in a log file, is
 * stopped by its own id, and is measured through /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Service {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
  /** SIGTERM to the process, SIGKILL to its whole group after `graceMs` or when stragglers outlive it. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Directory for `<name>.log`. */
  logDir: string;
}

/** Every service started and not yet stopped, in start order (so a failed start or a crash of the harness leaves nothing behind). */
const running = new Set<Service>();

/** The services started so far and still running. */
export function liveServices(): Service[] {
  return [...running];
}

/** Stop every service still running (newest first). */
export async function stopAllServices(): Promise<void> {
  for (const s of [...running].reverse()) await s.stop().catch(() => {});
}

/** Last resort when the harness is dying: SIGKILL every service's process group, synchronously. */
export function killAllServicesNow(): void {
  for (const s of running) signalGroup(s.pid, 'SIGKILL');
  running.clear();
}

/** Start a long-running process in its own process group, stdout+stderr to `<logDir>/<name>.log`. */
export function spawnService(name: string, command: string, args: string[], opts: SpawnOptions): Service {
  const logFile = join(opts.logDir, `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`cannot start ${name}: ${command} did not spawn`);
  const pid = child.pid;
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
  });
  const service: Service = {
    name,
    pid,
    logFile,
    exited,
    hasExited: () => done,
    async stop(graceMs = 8000): Promise<void> {
      running.delete(service);
      if (done) {
        await waitGroupGone(pid, 3000);
        return;
      }
      // The leader only: masters (nginx, Apache, the Portcullis primary) stop their own workers;
      // a second SIGTERM straight to a worker would kill it before it drains (and writes its --cpu-prof).
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') {
        signalGroup(pid, 'SIGKILL');
        await exited;
      }
      // Children that outlive the leader (apache, nginx workers) are in the same group.
      await waitGroupGone(pid, 3000);
    },
  };
  running.add(service);
  return service;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
  signalGroup(pgid, 'SIGKILL');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The last `lines` lines of a log file, for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A port that was free a moment ago on 127.0.0.1 (the peers need a number in their config files). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Wait until `url` answers with `expect(status)` true, or fail with the
 * service's log when it exits or the time is up.
 */
export async function waitForHttp(url: string, opts: { service?: Service; timeoutMs?: number; expect?: (status: number) => boolean; headers?: Record<string, string> } = {}): Promise<void> {
  const until = Date.now() + (opts.timeoutMs ?? 30_000);
  const expect = opts.expect ?? ((s: number) => s > 0);
  let last = 'no answer';
  while (Date.now() < until) {
    if (opts.service?.hasExited()) {
      throw new Error(`${opts.service.name} exited during start-up (exit ${String(await opts.service.exited)}):\n${tail(opts.service.logFile)}`);
    }
    try {
      const res = await fetch(url, { headers: opts.headers, signal: AbortSignal.timeout(2000), redirect: 'manual' });
      await res.arrayBuffer();
      if (expect(res.status)) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after ${opts.timeoutMs ?? 30_000} ms (${last})${opts.service ? `:\n${tail(opts.service.logFile)}` : ''}`);
}

// ---- memory, from /proc -------------------------------------------------

const PAGE_SIZE = 4096;

/** Direct children of every process, from one pass over /proc/<pid>/stat. */
function childrenMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const ppid = Number(fields[1]);
    const list = map.get(ppid);
    if (list === undefined) map.set(ppid, [Number(entry)]);
    else list.push(Number(entry));
  }
  return map;
}

/** `root` and all its descendants that are alive now. */
export function processTree(root: number): number[] {
  const children = childrenMap();
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    const kids = children.get(pid);
    if (kids !== undefined) stack.push(...kids);
  }
  return out;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold
 * spaces), so that [11] is utime, [12] stime, [13] cutime, [14] cstime; null
 * when the process is gone.
 */
function statFields(pid: number | 'self'): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

const micros = (ticks: string | undefined): number => (Number(ticks) * 1e6) / USER_HZ;

/**
 * CPU time (user, kernel) in µs that a process tree has used so far: utime and
 * stime of each live process from /proc/<pid>/stat. Taken before and after a
 * measured run, the difference ÷ requests is the system's CPU per request — a
 * figure that moves far less between machines than requests/s on a box the
 * load generator and the upstream share (docs/benchmarks.md, issue 13).
 */
export function cpuMicros(roots: number[]): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const root of roots) {
    for (const pid of processTree(root)) {
      const f = statFields(pid);
      if (f === null) continue;
      user += micros(f[11]);
      system += micros(f[12]);
    }
  }
  return { user, system };
}

/** CPU time in µs (user + kernel) of this process's children that have exited and been waited for (cutime + cstime). */
export function waitedChildrenCpuMicros(): number {
  const f = statFields('self');
  return f === null ? 0 : micros(f[13]) + micros(f[14]);
}

/** Resident set size of one process in bytes (0 when it is gone). */
export function rssBytes(pid: number): number {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ');
    return Number(statm[1]) * PAGE_SIZE;
  } catch {
    return 0;
  }
}

/**
 * Proportional set size of one process in bytes (0 when it is gone or the
 * kernel has no smaps_rollup): pages shared by N processes (the node binary's,
 * every worker maps the same) count 1/N in each, so the sum over a tree is
 * the memory the tree occupies, where the RSS sum counts a shared page once
 * per process.
 */
export function pssBytes(pid: number): number {
  try {
    const m = /\nPss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

export interface RssSample {
  /** Sum over the process tree. */
  total: number;
  /** Sum of PSS over the process tree (shared pages counted once in all). */
  pss: number;
  /**
   * The largest worker: the largest descendant of a root (nginx, Apache and
   * Portcullis workers are children of their master / primary), or the root
   * itself when it has no children (a single-process server).
   */
  maxProcess: number;
  processes: number;
}

export function sampleRss(roots: number[]): RssSample {
  let total = 0;
  let pss = 0;
  let maxProcess = 0;
  let processes = 0;
  const seen = new Set<number>();
  for (const root of roots) {
    let rootRss = 0;
    let maxChild = 0;
    let children = 0;
    for (const pid of processTree(root)) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      const rss = rssBytes(pid);
      if (rss === 0) continue;
      processes++;
      total += rss;
      pss += pssBytes(pid);
      if (pid === root) rootRss = rss;
      else {
        children++;
        if (rss > maxChild) maxChild = rss;
      }
    }
    const worker = children > 0 ? maxChild : rootRss;
    if (worker > maxProcess) maxProcess = worker;
  }
  return { total, pss, maxProcess, processes };
}

/** Samples the RSS of process trees at an interval and keeps the peaks. */
export class RssSampler {
  private readonly roots: number[];
  private timer: NodeJS.Timeout | null = null;
  peakTotal = 0;
  peakPss = 0;
  peakProcess = 0;
  processes = 0;
  readonly samples: Array<{ t: number; total: number; maxProcess: number }> = [];
  private readonly keepSamples: boolean;
  private readonly started = Date.now();

  constructor(roots: number[], opts: { intervalMs?: number; keepSamples?: boolean } = {}) {
    this.roots = roots;
    this.keepSamples = opts.keepSamples ?? false;
    this.take();
    this.timer = setInterval(() => this.take(), opts.intervalMs ?? 250);
  }

  take(): RssSample {
    const s = sampleRss(this.roots);
    if (s.total > this.peakTotal) this.peakTotal = s.total;
    if (s.pss > this.peakPss) this.peakPss = s.pss;
    if (s.maxProcess > this.peakProcess) this.peakProcess = s.maxProcess;
    if (s.processes > this.processes) this.processes = s.processes;
    if (this.keepSamples) this.samples.push({ t: (Date.now() - this.started) / 1000, total: s.total, maxProcess: s.maxProcess });
    return s;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.take();
  }
}
