/**
 * Tests for the template plugin, through a real Portcullis: `node --test`.
 * PORTCULLIS names the command that runs Portcullis (default: `portcullis`
 * on the PATH). Copy and adapt with your plugin.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [cmd, ...cmdArgs] = (process.env.PORTCULLIS ?? 'portcullis').split(' ');
let node: ChildProcess;
let upstream: Server;
let proxy = '';
let admin = '';

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(admin + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  upstream = createServer((_req, res) => res.end('upstream says hi'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const [p, a] = [await freePort(), await freePort()];
  proxy = `http://127.0.0.1:${p}`;
  admin = `http://127.0.0.1:${a}`;
  node = spawn(cmd!, [...cmdArgs, 'start', '--workers', '1', '-p', mkdtempSync(join(tmpdir(), 'my-header-'))], {
    env: { ...process.env, KONG_PLUGINS: 'bundled,my-header', KONG_PLUGINS_PATH: here, KONG_PROXY_LISTEN: `127.0.0.1:${p}`, KONG_ADMIN_LISTEN: `127.0.0.1:${a}` },
    stdio: 'ignore',
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${admin}/status`)).ok) break;
    } catch {
      if (i > 300) throw new Error('Portcullis did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const port = (upstream.address() as { port: number }).port;
  assert.equal((await call('POST', '/services', { name: 'up', url: `http://127.0.0.1:${port}` })).status, 201);
  assert.equal((await call('POST', '/services/up/routes', { name: 'open', paths: ['/open'] })).status, 201);
  assert.equal((await call('POST', '/services/up/routes', { name: 'guarded', paths: ['/guarded'] })).status, 201);
  assert.equal((await call('POST', '/routes/open/plugins', { name: 'my-header', config: { value: 'from my plugin' } })).status, 201);
  assert.equal((await call('POST', '/routes/guarded/plugins', { name: 'my-header', config: { require_header: 'X-Api-Key' } })).status, 201);
  // The configuration goes live a moment after the Admin API answered.
  for (let i = 0; (await fetch(`${proxy}/open`)).headers.get('x-hello') === null; i++) {
    if (i > 100) throw new Error('the plugin never applied');
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  node?.kill('SIGTERM');
  await new Promise<void>((r) => upstream.close(() => r()));
});

test('sets the configured header on proxied responses', async () => {
  const res = await fetch(`${proxy}/open`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-hello'), 'from my plugin');
  assert.equal(await res.text(), 'upstream says hi');
});

test('refuses requests without the required header, lets the others through', async () => {
  const denied = await fetch(`${proxy}/guarded`);
  assert.equal(denied.status, 401);
  assert.deepEqual(await denied.json(), { message: 'missing x-api-key' });
  const ok = await fetch(`${proxy}/guarded`, { headers: { 'x-api-key': 'k' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('x-hello'), 'world');
});

test('its schema is validated like a bundled plugin: unknown fields are refused', async () => {
  const r = await call('POST', '/plugins', { name: 'my-header', config: { colour: 'blue' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.name, 'schema violation');
  assert.ok('colour' in r.body.fields.config, JSON.stringify(r.body));
});
