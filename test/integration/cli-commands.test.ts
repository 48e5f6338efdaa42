/**
 * Issue 11, item 2: every command's help and strict arguments, kong.conf
 * errors, `migrations` on SQLite with Kong's exit codes, `config init`,
 * `check`, and stop/quit/health without a running node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { migrateSqlite } from '../../src/store/sqlite/index.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite.ts';

const NODE = process.execPath;
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KONG_') && !k.startsWith('PORTCULLIS_')));
  return new Promise((resolve) => {
    execFile(NODE, [MAIN, ...args], { env: { ...clean, ...opts.env }, cwd: opts.cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1, stdout, stderr });
    });
  });
}

const COMMANDS = ['start', 'stop', 'quit', 'restart', 'reload', 'health', 'check', 'migrations', 'config', 'version', 'demo'];

test('--help and -h on every command print its usage and exit 0', async () => {
  const results = await Promise.all(COMMANDS.flatMap((c) => [cli([c, '--help']), cli([c, '-h'])]));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `${COMMANDS[i >> 1]}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: portcullis /, COMMANDS[i >> 1]);
  });
});

test('an unknown flag is an error naming it, with the usage, exit 2 — the gateway does not start', async () => {
  for (const c of ['start', 'stop', 'reload', 'health', 'version']) {
    const r = await cli([c, '--foo', 'bar']);
    assert.equal(r.code, 2, c);
    assert.match(r.stderr, /unknown option '--foo'/);
    assert.match(r.stderr, /Usage: portcullis /);
  }
  const r = await cli(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test('start -c with a missing kong.conf fails naming the file', async () => {
  const r = await cli(['start', '-c', '/nonexistent/kong.conf']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no file at: \/nonexistent\/kong\.conf/);
});

test('check: a valid kong.conf (with warnings for no-effect and unknown properties) and an invalid one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cmd-'));
  try {
    await writeFile(join(dir, 'good.conf'), 'log_level = warn\nlua_package_path = ./?.lua\nsomething_else = 1\n');
    const good = await cli(['check', join(dir, 'good.conf')]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /is valid/);
    assert.match(good.stderr, /'lua_package_path'.*no effect/);
    assert.match(good.stderr, /'something_else'.*not a setting/);
    await writeFile(join(dir, 'bad.conf'), 'proxy_listen = nowhere\n');
    const bad = await cli(['check', join(dir, 'bad.conf')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /proxy_listen/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("migrations on SQLite: list 3 → bootstrap → list 0, idempotent, up/finish, reset needs --yes", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cmd-'));
  try {
    const p = ['-p', dir];
    assert.equal((await cli(['migrations', 'list', ...p])).code, 3);
    assert.equal(existsSync(join(dir, 'portcullis.db')), false, 'list does not create the database');
    const up = await cli(['migrations', 'up', ...p]);
    assert.equal(up.code, 1);
    assert.match(up.stderr, /needs bootstrapping/);
    const boot = await cli(['migrations', 'bootstrap', ...p]);
    assert.equal(boot.code, 0, boot.stderr);
    assert.match((await cli(['migrations', 'bootstrap', ...p])).stdout, /already bootstrapped/);
    const list = await cli(['migrations', 'status', ...p]);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /001_core_entities, 002_keyauth_credentials, 003_credentials_groups_keys_vaults/);
    assert.match((await cli(['migrations', 'up', ...p])).stdout, /already up-to-date/);
    assert.match((await cli(['migrations', 'finish', ...p])).stdout, /No pending migrations to finish/);
    const noYes = await cli(['migrations', 'reset', ...p]);
    assert.equal(noYes.code, 1);
    assert.match(noYes.stderr, /--yes/);
    const reset = await cli(['migrations', 'reset', '--yes', ...p]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal((await cli(['migrations', 'list', ...p])).code, 3);
    assert.equal((await cli(['migrations', 'reset', '-y', ...p])).code, 1, 'nothing to reset');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('migrations on SQLite: a database from before issue 15 lists 003 as new; up adds the tables', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cmd-'));
  try {
    const p = ['-p', dir];
    const db = new DatabaseSync(join(dir, 'portcullis.db'));
    migrateSqlite(db, SQLITE_MIGRATIONS.filter((m) => m.version <= 2));
    db.close();
    const list = await cli(['migrations', 'list', ...p]);
    assert.equal(list.code, 5, list.stdout);
    assert.match(list.stdout, /New migrations available:\n  core: 003_credentials_groups_keys_vaults/);
    const up = await cli(['migrations', 'up', ...p]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await cli(['migrations', 'list', ...p])).code, 0);
    const after = new DatabaseSync(join(dir, 'portcullis.db'));
    const tables = (after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
    after.close();
    for (const t of ['acls', 'basicauth_credentials', 'jwt_secrets', 'hmacauth_credentials', 'consumer_groups', 'consumer_group_consumers', 'key_sets', 'keys', 'vaults']) assert.ok(tables.includes(t), t);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('config init writes a commented kong.yml that parses, and never overwrites', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cmd-'));
  try {
    const r = await cli(['config', 'init'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(join(dir, 'kong.yml'), 'utf8');
    assert.match(text, /^# /);
    assert.equal((await cli(['config', 'parse', join(dir, 'kong.yml')])).code, 0);
    const again = await cli(['config', 'init'], { cwd: dir });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('stop, quit, reload and health name the prefix where no node runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cmd-'));
  try {
    for (const c of ['stop', 'quit', 'reload', 'health']) {
      const r = await cli([c, '-p', dir]);
      assert.equal(r.code, 1, c);
      assert.match(r.stderr, new RegExp(`not running at ${dir}`), c);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('version: the Kong release we match, then ours', async () => {
  const r = await cli(['version', '-a']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Kong 3\.9\.0 \(Portcullis \d+\.\d+\.\d+\)\n/);
  assert.match(r.stdout, /Node\.js: /);
});
