/**
 * Real Redis topologies for tests, started in a temp dir on free ports and
 * killed when the test ends: a master + replica watched by a Sentinel
 * (`redis-server --sentinel`, what Debian's redis-sentinel package runs), and
 * a 3-master Redis Cluster created with `redis-cli --cluster create`.
 *
 * Every wait has a deadline; a topology that does not come up fails the test
 * with what the processes printed.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './wait.ts';

export interface Topology {
  dir: string;
  stop(): Promise<void>;
}

export interface SentinelTopology extends Topology {
  masterName: string;
  masterPort: number;
  replicaPort: number;
  sentinelPort: number;
}

export interface ClusterTopology extends Topology {
  ports: number[];
}

/** True when the Redis binaries these helpers need are installed. */
export async function redisBinariesAvailable(): Promise<boolean> {
  const ok = (cmd: string) =>
    new Promise<boolean>((resolve) => execFile(cmd, ['--version'], (err) => resolve(err === null)));
  return (await ok('redis-server')) && (await ok('redis-cli'));
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port that is free, and whose cluster bus port (+10000) is free too. */
async function freePort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 20000);
    if (taken.has(p) || taken.has(p + 10000)) continue;
    if ((await portFree(p)) && (await portFree(p + 10000))) {
      taken.add(p);
      taken.add(p + 10000);
      return p;
    }
  }
  throw new Error('no free port pair found');
}

class Processes {
  readonly list: { name: string; child: ChildProcess; output: string[] }[] = [];

  start(name: string, args: string[], cwd: string): void {
    const child = spawn('redis-server', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const keep = (b: Buffer) => {
      output.push(b.toString());
      if (output.length > 200) output.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.list.push({ name, child, output });
  }

  describe(): string {
    return this.list.map((p) => `--- ${p.name} (exit ${p.child.exitCode})\n${p.output.join('').slice(-2000)}`).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.list.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
            const hard = setTimeout(() => p.child.kill('SIGKILL'), 3000);
            p.child.once('exit', () => {
              clearTimeout(hard);
              resolve();
            });
            p.child.kill('SIGTERM');
          }),
      ),
    );
  }
}

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>, procs: Processes): Promise<T> {
  let last: unknown;
  let value: T | undefined;
  const ready = async (): Promise<boolean> => {
    try {
      value = await probe();
    } catch (err) {
      last = err;
    }
    return value !== undefined;
  };
  if (await waitFor(what, ready, deadlineMs, 50).then(() => true, () => false)) return value as T;
  throw new Error(`${what}: not ready after ${deadlineMs} ms (${last instanceof Error ? last.message : String(last)})\n${procs.describe()}`);
}

async function ask<T>(port: number, op: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  r.on('error', () => {});
  try {
    await r.connect();
    return await op(r);
  } finally {
    r.disconnect();
  }
}

const COMMON = ['--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--protected-mode', 'no'];

/** A master, one replica and one Sentinel monitoring the master as `masterName`. */
export async function startSentinel(masterName = 'portcullis-master'): Promise<SentinelTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-sentinel-'));
  const taken = new Set<number>();
  const [masterPort, replicaPort, sentinelPort] = [await freePort(taken), await freePort(taken), await freePort(taken)];
  const procs = new Processes();
  const stop = async () => {
    await procs.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    procs.start('master', ['--port', String(masterPort), ...COMMON], dir);
    procs.start('replica', ['--port', String(replicaPort), '--replicaof', '127.0.0.1', String(masterPort), ...COMMON], dir);
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${masterName} 5000`,
        '',
      ].join('\n'),
    );
    await until('master', 10_000, () => ask(masterPort, (r) => r.ping()), procs);
    await until('replica link', 10_000, async () => ((await ask(replicaPort, (r) => r.info('replication'))).includes('master_link_status:up') ? true : undefined), procs);
    procs.start('sentinel', [conf, '--sentinel'], dir);
    await until(
      'sentinel',
      10_000,
      async () => {
        const addr = (await ask(sentinelPort, (r) => r.call('SENTINEL', 'get-master-addr-by-name', masterName))) as string[] | null;
        return addr !== null && addr[1] === String(masterPort) ? true : undefined;
      },
      procs,
    );
    return { dir, masterName, masterPort, replicaPort, sentinelPort, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Three masters (no replicas) forming one Redis Cluster, all 16384 slots assigned. */
export async function startCluster(): Promise<ClusterTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-cluster-'));
  const taken = new Set<number>();
  const ports = [await freePort(taken), await freePort(taken), await freePort(taken)];
  const procs = new Processes();
  const stop = async () => {
    await procs.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      procs.start(
        `node ${port}`,
        ['--port', String(port), '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', '5000', '--dir', nodeDir, ...COMMON],
        nodeDir,
      );
    }
    for (const port of ports) await until(`node ${port}`, 10_000, () => ask(port, (r) => r.ping()), procs);
    await new Promise<void>((resolve, reject) => {
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 20_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`redis-cli --cluster create: ${err.message}\n${stdout}\n${stderr}`)) : resolve()),
      );
    });
    for (const port of ports) {
      await until(
        `cluster state on ${port}`,
        15_000,
        async () => ((await ask(port, (r) => r.call('CLUSTER', 'INFO'))) as string).includes('cluster_state:ok') ? true : undefined,
        procs,
      );
    }
    return { dir, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A direct connection to one node (for assertions). */
export function directClient(port: number): Redis {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  return r;
}
