/**
 * The prefix directory of a running node (Kong's `prefix`): the pid file
 * (`pids/portcullis.pid`, Kong's `pids/nginx.pid`) and `.kong_env`, the
 * settings other commands need to reach the running node (Kong writes the
 * node's whole configuration there; we write what `health`, `reload`,
 * `stop` and `quit` use). `.kong_env` may hold the Admin API token, so it is
 * written readable by its owner only.
 */
import process from 'node:process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKongConf } from './kong-conf.ts';
import type { ListenSpec, Settings } from './settings.ts';

export const pidFile = (prefix: string): string => join(prefix, 'pids', 'portcullis.pid');
export const envFile = (prefix: string): string => join(prefix, '.kong_env');
export const logDir = (prefix: string): string => join(prefix, 'logs');

export function listenText(l: readonly ListenSpec[]): string {
  return l.length === 0 ? 'off' : l.map((x) => `${x.host.includes(':') ? `[${x.host}]` : x.host}:${x.port}${x.ssl ? ' ssl' : ''}`).join(', ');
}

/** Escape `#` as kong.conf requires. */
const confValue = (v: string): string => v.replace(/#/g, '\\#');

export function writeRunning(settings: Settings, pid: number, adminListen: readonly ListenSpec[]): void {
  mkdirSync(join(settings.dataDir, 'pids'), { recursive: true });
  const lines = [
    `prefix = ${confValue(settings.dataDir)}`,
    `admin_listen = ${listenText(adminListen)}`,
    `conf_path = ${confValue(settings.confPath ?? '')}`,
    `admin_token = ${confValue(settings.adminToken ?? '')}`,
  ];
  writeFileSync(envFile(settings.dataDir), lines.join('\n') + '\n', { mode: 0o600 });
  writeFileSync(pidFile(settings.dataDir), `${pid}\n`);
}

export function removeRunning(prefix: string, pid: number): void {
  // Only our own pid file: a newer node may have replaced it.
  if (readPid(prefix) === pid) rmSync(pidFile(prefix), { force: true });
}

export function readPid(prefix: string): number | null {
  try {
    const n = Number(readFileSync(pidFile(prefix), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the node running at this prefix, or null (no pid file, or a stale one). */
export function runningPid(prefix: string): number | null {
  const pid = readPid(prefix);
  return pid !== null && isRunning(pid) ? pid : null;
}

export interface RunningEnv {
  adminListen: string;
  confPath: string | null;
  adminToken: string | null;
}

export function readRunningEnv(prefix: string): RunningEnv | null {
  let text: string;
  try {
    text = readFileSync(envFile(prefix), 'utf8');
  } catch {
    return null;
  }
  const v = parseKongConf(text, envFile(prefix)).values;
  return { adminListen: v.get('admin_listen') ?? 'off', confPath: v.get('conf_path') || null, adminToken: v.get('admin_token') || null };
}

/** Point the running node at another kong.conf (read on its next reload). */
export function setRunningConf(prefix: string, confPath: string): void {
  const text = readFileSync(envFile(prefix), 'utf8');
  const out = text.split('\n').filter((l) => !l.startsWith('conf_path =') && l !== '');
  out.push(`conf_path = ${confValue(confPath)}`);
  writeFileSync(envFile(prefix), out.join('\n') + '\n', { mode: 0o600 });
}

/** Poll until the process is gone; false when the deadline passed first. */
export async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
