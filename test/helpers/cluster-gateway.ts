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
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.ts';

const NODE = process.execPath;
const MAIN = new URL('../../bin/portcullis.js', import.meta.url).pathname;

export interface FreshResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ClusterGateway {
  /** The primary's pid. */
  pid: number;
  proxyUrl: string;
  /** Port of the `ssl` proxy listener (started with `ssl: true`), else null. */
  proxyTlsPort: number | null;
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

/**
 * `early`: return as soon as the Admin API answers, before the node says it started (its workers may not be up yet).
 * `storeVersion`: the configuration version of a store the node shares with others (PostgreSQL): settle()
 * then waits for the version the store holds now, whichever node wrote it.
 * `ssl`: also an `ssl` proxy listener (its default certificate is generated at start).
 */
export async function startClusterGateway(options: { workers: number; env?: Record<string, string>; early?: boolean; storeVersion?: () => Promise<number>; ssl?: boolean }): Promise<ClusterGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'portcullis-cluster-'));
  const proxyPort = await freePort();
  const proxyTlsPort = options.ssl === true ? await freePort() : null;
  const adminPort = await freePort();
  const child: ChildProcess = spawn(NODE, [MAIN, 'start', '--workers', String(options.workers), '--data-dir', dataDir, '--log-level', 'info'], {
    env: {
      ...process.env,
      KONG_PROXY_LISTEN: proxyTlsPort === null ? `127.0.0.1:${proxyPort}` : `127.0.0.1:${proxyPort}, 127.0.0.1:${proxyTlsPort} ssl`,
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
  /**
   * The store's configuration version after the latest successful Admin API
   * write (read from the node's SQLite file once the write answered 2xx): the
   * primary's runtime must reach it before "the newest configuration" means
   * one that holds the write. A count of the primary's "configuration applied"
   * lines is not enough: with writes in a row, the line of the previous
   * write's apply can arrive after the next write was sent.
   */
  let writtenVersion = -1;
  const dbFile = join(dataDir, 'portcullis.db');
  const storeVersion = (): number => {
    if (!existsSync(dbFile)) return -1; // DB-less: no store file
    const db = new DatabaseSync(dbFile, { readOnly: true });
    try {
      return Number((db.prepare('SELECT version FROM config_version WHERE id = 1').get() as { version: number }).version);
    } finally {
      db.close();
    }
  };
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
      if (l.msg === 'configuration applied' && l.pid !== undefined && l.version !== undefined) applied.set(l.pid, l.version);
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
    if (options.storeVersion !== undefined) writtenVersion = Math.max(writtenVersion, await options.storeVersion());
    // A successful Admin API write reaches the primary's runtime asynchronously: until the primary has
    // applied the store's version after it, "the newest" would be a configuration without the write.
    await waitFor(
      () => `the primary to apply configuration ${writtenVersion}: ${JSON.stringify([...applied])}`,
      () => (applied.get(child.pid!) ?? -1) >= writtenVersion,
      timeoutMs,
    );
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
    pid: child.pid!,
    proxyUrl,
    proxyTlsPort,
    adminUrl,
    output: () => out,
    workerPids,
    async admin(method, path, body) {
      const res = await fetch(adminUrl + path, {
        method,
        headers: body !== undefined ? { 'content-type': 'application/json' } : {},
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      if (method !== 'GET' && method !== 'HEAD' && res.ok) writtenVersion = Math.max(writtenVersion, storeVersion());
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
