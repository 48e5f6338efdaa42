/**
 * The `portcullis` command as a user runs it (issue #2, items 1, 8, 9): a real
 * process tree with workers, the store surviving a restart, a crashed worker
 * replaced, KONG_* environment honoured, `config parse` reporting every error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEcho } from '../helpers/echo.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);
const NODE = process.execPath;
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(NODE, [MAIN, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Running {
  child: ChildProcess;
  output: () => string;
  proxy: string;
  admin: string;
}

async function startCli(dataDir: string, workers: number, env: Record<string, string> = {}): Promise<Running> {
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const child = spawn(NODE, [MAIN, 'start', '--workers', String(workers), '--data-dir', dataDir], {
    env: {
      ...process.env,
      KONG_PROXY_LISTEN: `127.0.0.1:${proxyPort}`,
      KONG_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      PORTCULLIS_SESSION_SECRET: 'cli-test-secret-0123456789abcdef',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(
    () => `the gateway to start:\n${out}`,
    () => {
      if (child.exitCode !== null) throw new Error(`gateway exited early:\n${out}`);
      return out.includes('Portcullis started');
    },
    90_000, // a bound on a hang: a 2-worker start takes ~25 s on a loaded 2-core machine
  );
  return { child, output: () => out, proxy: `http://127.0.0.1:${proxyPort}`, admin: `http://127.0.0.1:${adminPort}` };
}

async function stop(r: Running): Promise<number | null> {
  if (r.child.exitCode !== null) return r.child.exitCode;
  const exited = new Promise<number | null>((resolve) => r.child.once('exit', (code) => resolve(code)));
  r.child.kill('SIGTERM');
  return exited;
}

async function until(what: string, fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  await waitFor(what, () => fn().catch(() => false), ms, 20);
}

test('portcullis version prints the version', async () => {
  const r = await cli(['version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Kong 3\.9\.0 \(Portcullis \d+\.\d+\.\d+\)/);
});

test('portcullis config parse accepts a valid kong.yml and lists every error of an invalid one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cli-'));
  try {
    await writeFile(join(dir, 'good.yml'), '_format_version: "3.0"\nservices:\n- name: s\n  url: http://127.0.0.1:1/\n  routes:\n  - name: r\n    paths: [/x]\n');
    await writeFile(join(dir, 'bad.yml'), '_format_version: "3.0"\nservices:\n- name: s\n  host: example.com\n  port: 70000\n  routes:\n  - name: r\n    paths: [x]\n');
    const good = await cli(['config', 'parse', join(dir, 'good.yml')]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /parse successful/);
    const bad = await cli(['config', 'parse', join(dir, 'bad.yml')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /port/);
    assert.match(bad.stderr, /paths/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('start with 2 workers: proxy works, a killed worker is replaced, the store survives a restart, health and db_export work', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'portcullis-cli-'));
  const echo = await startEcho();
  let gw = await startCli(dataDir, 2);
  try {
    const created = await fetch(`${gw.admin}/services`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `name=svc&url=${encodeURIComponent(echo.url + '/anything')}` });
    assert.equal(created.status, 201);
    const route = await fetch(`${gw.admin}/services/svc/routes`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=r&paths=/cli' });
    assert.equal(route.status, 201);
    await until('the route to reach the workers', async () => (await fetch(`${gw.proxy}/cli/x?y=1`)).status === 200);
    const body = (await (await fetch(`${gw.proxy}/cli/x?y=1`)).json()) as { path?: string; url?: string };
    assert.match(JSON.stringify(body), /\/anything\/x/);

    // Kill one worker outright: the primary replaces it and traffic keeps flowing.
    const pids = [...gw.output().matchAll(/"pid":(\d+)[^\n]*"configuration applied"/g)].map((m) => Number(m[1])).filter((p) => p !== gw.child.pid);
    const worker = pids[0];
    assert.ok(worker !== undefined, 'a worker logged its configuration');
    process.kill(worker, 'SIGKILL');
    await until('a replacement worker', async () => /worker exited; starting a replacement/.test(gw.output()));
    for (let i = 0; i < 20; i++) assert.equal((await fetch(`${gw.proxy}/cli/x`)).status, 200);

    const health = await cli(['health', '-p', dataDir]);
    assert.equal(health.code, 0, health.stderr);

    assert.equal(await stop(gw), 0);
    const exported = await cli(['config', 'db_export', '--data-dir', dataDir]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /_format_version: ["']?3\.0/);
    assert.match(exported.stdout, /name: svc/);

    // Restart on the same data directory: the configuration is still there.
    gw = await startCli(dataDir, 1);
    await until('the stored route after restart', async () => (await fetch(`${gw.proxy}/cli/again`)).status === 200);
    const svc = await fetch(`${gw.admin}/services/svc`);
    assert.equal(svc.status, 200);
  } finally {
    await stop(gw);
    await echo.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('KONG_DATABASE=off with KONG_DECLARATIVE_CONFIG starts DB-less from kong.yml; an invalid file stops the start with its errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cli-'));
  const echo = await startEcho();
  try {
    const file = join(dir, 'kong.yml');
    await writeFile(file, `_format_version: "3.0"\nservices:\n- name: s\n  url: ${echo.url}/anything\n  routes:\n  - name: r\n    paths: [/dbless]\n`);
    const gw = await startCli(dir, 1, { KONG_DATABASE: 'off', KONG_DECLARATIVE_CONFIG: file });
    try {
      await until('the declarative route', async () => (await fetch(`${gw.proxy}/dbless`)).status === 200);
      const write = await fetch(`${gw.admin}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x","url":"http://a"}' });
      assert.equal(write.status, 405);
    } finally {
      await stop(gw);
    }
    await writeFile(file, '_format_version: "3.0"\nservices:\n- name: s\n  port: 99999\n');
    const bad = await cli(['start', '--workers', '1', '--proxy-listen', `127.0.0.1:${await freePort()}`, '--admin-listen', `127.0.0.1:${await freePort()}`], { KONG_DATABASE: 'off', KONG_DECLARATIVE_CONFIG: file });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid/);
  } finally {
    await echo.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A fresh connection per request, so the cluster spreads requests over its workers. */
function getFresh(url: string): Promise<{ status: number; cache: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cache: res.headers['x-cache-status'] as string | undefined }));
    }).on('error', reject);
  });
}

test('with 2 workers, DELETE /proxy-cache on the Admin API purges the node\'s one cache', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'portcullis-cli-'));
  const echo = await startEcho();
  const gw = await startCli(dataDir, 2);
  try {
    const json = { 'content-type': 'application/json' };
    assert.equal((await fetch(`${gw.admin}/services`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'cached', url: `${echo.url}/anything` }) })).status, 201);
    assert.equal((await fetch(`${gw.admin}/services/cached/routes`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'cr', paths: ['/cached'] }) })).status, 201);
    const plugin = await fetch(`${gw.admin}/services/cached/plugins`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'proxy-cache', config: { strategy: 'memory', cache_ttl: 300 } }) });
    assert.equal(plugin.status, 201);
    // Every worker has the plugin once several fresh connections in a row (spread by the kernel) all answer with it.
    await until('the cache plugin in every worker', async () => {
      for (let i = 0; i < 6; i++) if ((await getFresh(`${gw.proxy}/cached`)).cache === undefined) return false;
      return true;
    });
    // One cache per node: with fresh connections the requests spread over both workers, and all hit.
    let hits = 0;
    for (let i = 0; i < 20; i++) if ((await getFresh(`${gw.proxy}/cached`)).cache === 'Hit') hits++;
    assert.equal(hits, 20, `expected a warm node cache, got ${hits} hits of 20`);

    const purge = await fetch(`${gw.admin}/proxy-cache`, { method: 'DELETE' });
    assert.equal(purge.status, 204);
    // The first request after the purge is a Miss, whichever worker serves it; every later one a Hit.
    const statuses: string[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await getFresh(`${gw.proxy}/cached`)).cache ?? 'none');
    assert.deepEqual(statuses, ['Miss', 'Hit', 'Hit', 'Hit', 'Hit', 'Hit']);
  } finally {
    await stop(gw);
    await echo.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
