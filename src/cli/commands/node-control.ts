/**
 * `portcullis stop | quit | reload | health` — Kong's commands that act on
 * the node running at a prefix (kong/cmd/stop.lua, quit.lua, reload.lua,
 * health.lua), through the pid file and .kong_env that `start` writes there.
 *   stop    SIGTERM: the node drains in-flight requests and exits (our
 *           SIGTERM is graceful: orchestrators send it to ask for a clean stop)
 *   quit    SIGQUIT: graceful; after --timeout seconds (default 10) it is
 *           killed (SIGKILL), as Kong forces nginx after its timeout
 *   reload  SIGHUP: kong.conf and the declarative file read again, no
 *           connection dropped (src/cli/reload-node.ts); -c FILE switches the
 *           node to another kong.conf
 *   health  the node's process is running and its Admin API answers with a
 *           reachable database; Kong's output shape
 */
import process from 'node:process';
import { resolve } from 'node:path';
import { parseListen, resolveSettings, type FlagMap } from '../settings.ts';
import { readKongConf } from '../kong-conf.ts';
import { isRunning, readPid, readRunningEnv, setRunningConf, waitForExit } from '../prefix.ts';
import { SettingsError } from '../settings-error.ts';

/** The prefix a command acts on: -p, else the prefix of -c's kong.conf / the environment / the default. */
export function prefixOf(flags: FlagMap): string {
  if (typeof flags.prefix === 'string') return resolve(flags.prefix);
  const conf = typeof flags.conf === 'string' ? readKongConf(resolve(flags.conf)) : null;
  return resolveSettings({}, process.env, process.cwd(), conf).dataDir;
}

function runningAt(prefix: string): number {
  const pid = readPid(prefix);
  if (pid === null || !isRunning(pid)) throw new SettingsError(`Portcullis is not running at ${prefix}`);
  return pid;
}

function fail(err: unknown): number {
  process.stderr.write(`Error: ${(err as Error).message}\n`);
  return 1;
}

/** How long `stop` waits for the drain before it reports failure. */
const STOP_DEADLINE_MS = 30_000;

export async function stop(flags: FlagMap): Promise<number> {
  try {
    const prefix = prefixOf(flags);
    const pid = runningAt(prefix);
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, STOP_DEADLINE_MS))) return fail(new Error(`Portcullis (pid ${pid}) did not stop within ${STOP_DEADLINE_MS / 1000} s`));
    process.stdout.write('Portcullis stopped\n');
    return 0;
  } catch (err) {
    return fail(err);
  }
}

function seconds(v: string | boolean | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new SettingsError(`--${name}: expected a number of seconds (got '${String(v)}')`);
  return n;
}

export async function quit(flags: FlagMap): Promise<number> {
  try {
    const timeout = Math.max(seconds(flags.timeout, 'timeout', 10), 1);
    const wait = seconds(flags.wait, 'wait', 0);
    const prefix = prefixOf(flags);
    const pid = runningAt(prefix);
    // Kong's --wait: keep serving a while first (lets a load balancer notice the node going away).
    if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000));
    process.kill(pid, 'SIGQUIT');
    if (!(await waitForExit(pid, timeout * 1000))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5000);
      process.stdout.write(`Portcullis did not finish within ${timeout} s; it was killed\n`);
      return 0;
    }
    process.stdout.write('Portcullis stopped (gracefully)\n');
    return 0;
  } catch (err) {
    return fail(err);
  }
}

export async function reload(flags: FlagMap): Promise<number> {
  try {
    const prefix = prefixOf(flags);
    const pid = runningAt(prefix);
    if (typeof flags.conf === 'string') {
      const path = resolve(flags.conf);
      readKongConf(path); // a missing or malformed file is refused here, naming it, not in the node
      setRunningConf(prefix, path);
    }
    process.kill(pid, 'SIGHUP');
    process.stdout.write('Portcullis reloaded\n');
    return 0;
  } catch (err) {
    return fail(err);
  }
}

export async function health(flags: FlagMap): Promise<number> {
  let prefix: string;
  try {
    prefix = prefixOf(flags);
  } catch (err) {
    return fail(err);
  }
  const env = readRunningEnv(prefix);
  const pid = readPid(prefix);
  if (env === null || pid === null) return fail(new Error(`Portcullis is not running at ${prefix}`));
  const running = isRunning(pid);
  const lines = [`${'portcullis'.padEnd(12, '.')}${running ? 'running' : 'not running'}`];
  let adminOk = true;
  const admin = parseListen(env.adminListen, 'admin_listen')[0];
  if (admin !== undefined && running) {
    const host = admin.host === '0.0.0.0' ? '127.0.0.1' : admin.host === '::' ? '[::1]' : admin.host.includes(':') ? `[${admin.host}]` : admin.host;
    const headers: Record<string, string> = {};
    if (env.adminToken) headers['kong-admin-token'] = env.adminToken;
    try {
      const res = await fetch(`http://${host}:${admin.port}/status`, { headers, signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { database?: { reachable?: boolean } };
      adminOk = res.status === 200;
      lines.push(`${'admin api'.padEnd(12, '.')}${adminOk ? 'running' : `status ${res.status}`}`);
      const db = body.database?.reachable !== false;
      lines.push(`${'database'.padEnd(12, '.')}${db ? 'reachable' : 'not reachable'}`);
      adminOk &&= db;
    } catch {
      adminOk = false;
      lines.push(`${'admin api'.padEnd(12, '.')}not running`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n\n');
  if (!running) return fail(new Error(`Portcullis is not running at ${prefix}`));
  if (!adminOk) return fail(new Error(`some services are not running at ${prefix}`));
  process.stdout.write(`Portcullis is healthy at ${prefix}\n`);
  return 0;
}
