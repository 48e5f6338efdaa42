/**
 * The gateway as users run it: `portcullis start --workers N` in its own
 * process tree (a cluster primary and N workers), SQLite store, listeners on
 * free loopback ports. For tests of what must hold across workers (issue 10:
 * per-node state); the in-process helper (./gateway.ts) runs one worker.
 *
 * `get()` opens a new connection per request (no agent, Connection: close),
 * so the primary spreads requests over the workers as it would for curl.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.ts';

const NODE = process.execPath;
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface FreshResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ClusterGateway {
  proxyUrl: string;
  adminUrl: string;
  /** Every line the node printed so far. */
  output(): string;
  /** pids of the workers that are alive and serving. */
  workerPids(): number[];
  /** JSON Admin API call. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** GET (or another bodyless method) on the proxy over a new connection. */
  get(path: string, headers?: Record<string, string>, method?: string): Promise<FreshResponse>;
  /** Resolves once every live worker serves the primary's newest configuration. */
  settle(timeoutMs?: number): Promise<void>;
  /** Resolves once the primary has noticed that worker `pid` exited. */
  waitExited(pid: number, timeoutMs?: number): Promise<void>;
  /** Resolves once `count` workers are alive and serving the newest configuration. */
  waitWorkers(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once the node printed that it started. */
  started(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

interface LogLine {
  pid?: number;
  msg?: string;
  version?: number;
  worker?: number;
}

/** `early`: return as soon as the Admin API answers, before the node says it started (its workers may not be up yet). */
export async function startClusterGateway(options: { workers: number; env?: Record<string, string>; early?: boolean }): Promise<ClusterGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'portcullis-cluster-'));
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const child: ChildProcess = spawn(NODE, [MAIN, 'start', '--workers', String(options.workers), '--data-dir', dataDir, '--log-level', 'info'], {
    env: {
      ...process.env,
      KONG_PROXY_LISTEN: `127.0.0.1:${proxyPort}`,
      KONG_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      PORTCULLIS_SESSION_SECRET: 'cluster-test-secret-0123456789abcdef',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let partial = '';
  /** pid → newest configuration version it applied. */
  const applied = new Map<number, number>();
  /** How many configurations the primary has applied; and that count when the latest Admin API write was sent. */
  let primaryApplies = 0;
  let appliesAtLastWrite = -1;
  const exited = new Set<number>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    partial += d.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      let l: LogLine;
      try {
        l = JSON.parse(line) as LogLine;
      } catch {
        continue;
      }
      if (l.msg === 'configuration applied' && l.pid !== undefined && l.version !== undefined) {
        applied.set(l.pid, l.version);
        if (l.pid === child.pid) primaryApplies++;
      }
      if (typeof l.msg === 'string' && l.msg.startsWith('worker exited') && l.worker !== undefined) exited.add(l.worker);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const deadline = Date.now() + 60_000;
  const adminUp = async (): Promise<boolean> => {
    try {
      return (await fetch(`http://127.0.0.1:${adminPort}/status`)).ok;
    } catch {
      return false;
    }
  };
  await waitFor(
    () => `gateway did not start:\n${out}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited early:\n${out}`);
      return options.early === true ? await adminUp() : out.includes('Portcullis started');
    },
    Math.max(0, deadline - Date.now()),
    options.early === true ? 25 : 1, // a fetch per look
  );
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const workerPids = (): number[] => [...applied.keys()].filter((p) => p !== child.pid && !exited.has(p));

  const waitWorkers = async (count: number, timeoutMs = 20_000): Promise<void> => {
    // A successful Admin API write reaches the primary's runtime asynchronously: until the primary has
    // applied a configuration after it, "the newest" would be the one before the write. A write that
    // changed nothing (Kong answers 204 to deleting a missing entity) applies nothing: bounded wait.
    if (appliesAtLastWrite >= 0) {
      await waitFor('the primary to apply the last write', () => primaryApplies > appliesAtLastWrite, Math.min(timeoutMs, 10_000)).catch(() => undefined);
      appliesAtLastWrite = -1;
    }
    await waitFor(
      () => `workers to reach configuration ${applied.get(child.pid!) ?? -1}: ${JSON.stringify([...applied])}`,
      () => {
        const newest = applied.get(child.pid!) ?? -1;
        const workers = workerPids();
        return workers.length >= count && workers.every((p) => applied.get(p) === newest);
      },
      timeoutMs,
    );
  };

  return {
    proxyUrl,
    adminUrl,
    output: () => out,
    workerPids,
    async admin(method, path, body) {
      const mark = primaryApplies;
      const res = await fetch(adminUrl + path, {
        method,
        headers: body !== undefined ? { 'content-type': 'application/json' } : {},
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      if (method !== 'GET' && method !== 'HEAD' && res.ok) appliesAtLastWrite = mark;
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed };
    },
    get(path, headers = {}, method = 'GET') {
      return new Promise((resolve, reject) => {
        const req = request(`${proxyUrl}${path}`, { method, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end();
      });
    },
    // The primary applies the change first (its build logs the newest version), then the workers.
    settle: (timeoutMs) => waitWorkers(options.workers, timeoutMs),
    waitWorkers,
    async started(timeoutMs = 60_000) {
      await waitFor(() => `gateway did not start:\n${out}`, () => out.includes('Portcullis started'), timeoutMs);
    },
    async waitExited(pid, timeoutMs = 10_000) {
      await waitFor(`worker ${pid} to exit`, () => exited.has(pid), timeoutMs);
    },
    async close() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
