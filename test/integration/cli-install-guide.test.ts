/**
 * Issue 11, "done when": Kong's install guide with `portcullis` in place of
 * `kong`, on PostgreSQL (a fresh database per run), driven by a kong.conf
 * that sets the listeners, the database and the log level:
 *   migrations bootstrap → start -c kong.conf → health → reload → stop
 * each with the effect Kong documents. Waits poll with deadlines; no fixed sleeps.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, get } from 'node:http';
import pg from 'pg';
import { waitFor } from '../helpers/wait.ts';

const NODE = process.execPath;
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const DB = `portcullis_guide_${process.pid}_${Date.now()}`;
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '' };

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Run the CLI with no inherited KONG_* / PORTCULLIS_* variables: the kong.conf is the configuration. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KONG_') && !k.startsWith('PORTCULLIS_')));
  return new Promise((resolve) => {
    execFile(NODE, [MAIN, ...args], { env: { ...clean, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  await waitFor(what, () => Promise.resolve().then(fn).catch(() => false), ms, 20);
}

/** GET through a keep-alive agent; the local port tells whether the connection was reused. */
function getVia(agent: Agent, url: string): Promise<{ status: number; localPort: number }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      const localPort = res.socket.localPort!;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, localPort }));
    }).on('error', reject);
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-guide-'));
  const c = new pg.Client({ ...PG, database: 'test' });
  await c.connect();
  await c.query(`CREATE DATABASE ${DB}`);
  await c.end();
});
after(async () => {
  // A node left running by a failed assertion is stopped before its database goes.
  const pidFile = join(dir, 'prefix', 'pids', 'portcullis.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number((await readFile(pidFile, 'utf8')).trim()), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const c = new pg.Client({ ...PG, database: 'test' });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await c.end();
  await rm(dir, { recursive: true, force: true });
});

test("Kong's install guide: migrations bootstrap, start -c kong.conf, health, reload, stop", { timeout: 180_000 }, async () => {
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const prefix = join(dir, 'prefix');
  const conf = join(dir, 'kong.conf');
  const admin = `http://127.0.0.1:${adminPort}`;
  const write = (logLevel: string): Promise<void> =>
    writeFile(
      conf,
      [
        '# kong.conf for the install-guide test',
        `prefix = ${prefix}`,
        `proxy_listen = 127.0.0.1:${proxyPort}`,
        `admin_listen = 127.0.0.1:${adminPort}`,
        'database = postgres',
        'pg_host = 127.0.0.1',
        'pg_user = postgres',
        `pg_database = ${DB}`,
        `log_level = ${logLevel}`,
        'nginx_worker_processes = 2    # the reload reaches every worker',
        'nginx_daemon = on            # start returns once the node is up, as Kong does',
        'session_secret = guide-test-secret-0123456789abcdef',
        'lua_package_path = ./?.lua    # accepted, no effect: warned',
        '',
      ].join('\n'),
    );
  await write('info');

  // Before bootstrap: start refuses, migrations list exits 3 (Kong's codes).
  const early = await cli(['start', '-c', conf]);
  assert.equal(early.code, 1, early.stdout + early.stderr);
  assert.match(early.stderr, /needs bootstrapping; run 'portcullis migrations bootstrap'/);
  assert.equal((await cli(['migrations', 'list', '-c', conf])).code, 3);

  // 1. kong migrations bootstrap (idempotent: a second run says so and succeeds).
  const boot = await cli(['migrations', 'bootstrap', '-c', conf]);
  assert.equal(boot.code, 0, boot.stderr);
  assert.match(boot.stdout, /Database is up-to-date/);
  const again = await cli(['migrations', 'bootstrap', '-c', conf]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Database already bootstrapped/);
  const list = await cli(['migrations', 'list', '-c', conf]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /001_core_entities/);

  // 2. kong start -c kong.conf: returns once the node serves, with the conf's listeners.
  const started = await cli(['start', '-c', conf]);
  assert.equal(started.code, 0, started.stdout + started.stderr);
  assert.match(started.stdout, /Portcullis started/);
  const info = (await (await fetch(`${admin}/`)).json()) as { version: string; configuration: { database: string } };
  assert.equal(info.version, '3.9.0');
  assert.equal(info.configuration.database, 'postgres');
  assert.equal((await fetch(`http://127.0.0.1:${proxyPort}/nothing-here`)).status, 404);
  const log = join(prefix, 'logs', 'error.log');
  await until('the no-effect warning in the log', async () => (await readFile(log, 'utf8')).includes("'lua_package_path'"));
  assert.doesNotMatch(await readFile(log, 'utf8'), /"level":20\b/, 'log_level = info: no debug line before the reload');
  // A second start on the same prefix is refused.
  const twice = await cli(['start', '-c', conf]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /already running/);

  // 3. kong health
  const health = await cli(['health', '-p', prefix]);
  assert.equal(health.code, 0, health.stdout + health.stderr);
  assert.match(health.stdout, /portcullis\.*running/);
  assert.match(health.stdout, /Portcullis is healthy at /);

  // 4. kong reload: the edited kong.conf is read again (log level), a keep-alive connection survives.
  const svc = await fetch(`${admin}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"s","url":"http://127.0.0.1:9/"}' });
  assert.equal(svc.status, 201);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const before = await getVia(agent, `http://127.0.0.1:${proxyPort}/kept`);
  await write('debug');
  const pid = Number((await readFile(join(prefix, 'pids', 'portcullis.pid'), 'utf8')).trim());
  const reload = await cli(['reload', '-p', prefix]);
  assert.equal(reload.code, 0, reload.stderr);
  await until('the reload to be logged', async () => /"msg":"reloaded"/.test(await readFile(log, 'utf8')));
  // The new log level applies: a request without a route is logged at debug from now on.
  assert.equal((await fetch(`http://127.0.0.1:${proxyPort}/nothing-here`)).status, 404);
  await until('a debug line after the reload', async () => {
    const text = await readFile(log, 'utf8');
    return /"level":20\b/.test(text.slice(text.indexOf('"msg":"reloaded"')));
  });
  assert.equal(Number((await readFile(join(prefix, 'pids', 'portcullis.pid'), 'utf8')).trim()), pid, 'same process after reload');
  assert.equal((await fetch(`${admin}/services/s`)).status, 200);
  const afterReload = await getVia(agent, `http://127.0.0.1:${proxyPort}/kept`);
  assert.equal(afterReload.localPort, before.localPort, 'the keep-alive connection opened before the reload still serves');
  agent.destroy();

  // 5. kong stop: the process is gone, its pid file removed; health now fails.
  const stop = await cli(['stop', '-p', prefix]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.throws(() => process.kill(pid, 0));
  assert.equal(existsSync(join(prefix, 'pids', 'portcullis.pid')), false);
  const dead = await cli(['health', '-p', prefix]);
  assert.equal(dead.code, 1);
  assert.match(dead.stderr, /not running/);
});
