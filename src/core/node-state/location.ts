/**
 * Where a node's shared state lives: one directory per node start, on
 * /dev/shm (memory, never written to disk) or, where there is none or it is
 * small (containers get 64 MB by default, less than proxy-cache's default
 * 128 MB dictionary), in the system's temporary directory (the page cache
 * keeps it in memory; nothing is synced to disk, see database.ts). The process that creates it — the cluster
 * primary, or a single-process gateway — removes it when it exits; every
 * worker forked from the primary finds it through PORTCULLIS_NODE_STATE.
 *
 * A node killed with SIGKILL cannot clean up: the next start removes
 * directories whose owner process is gone (the owner's pid is in the name).
 */
import process from 'node:process';
import { mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Environment variable naming the node's state directory (set by the primary for its workers). */
export const NODE_STATE_ENV = 'PORTCULLIS_NODE_STATE';

const PREFIX = 'portcullis-';

/** Free space /dev/shm must offer to be used. */
const MIN_SHM_BYTES = 256 * 1024 * 1024;

function baseDir(): string {
  try {
    const s = statfsSync('/dev/shm');
    if (s.bavail * s.bsize >= MIN_SHM_BYTES) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return tmpdir();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove state directories left behind by nodes that died without cleaning up. */
function removeStale(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^portcullis-(\d+)-/.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    rmSync(join(base, name), { recursive: true, force: true });
  }
}

/**
 * Create this node's state directory (unique per start) and remove it when
 * this process exits. Returns the directory path.
 */
export function createNodeStateDir(): string {
  const base = baseDir();
  removeStale(base);
  const dir = mkdtempSync(join(base, `${PREFIX}${process.pid}-`));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
