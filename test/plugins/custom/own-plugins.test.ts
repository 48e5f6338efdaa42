/**
 * Our own plugins loaded from `plugins_path` (and the refusals that stop a
 * start): a TypeScript plugin importing 'portcullis/plugin' from a
 * directory with no node_modules, at `--workers 2`; one that blocks the event
 * loop is reported by name; names found nowhere and plugin servers we cannot
 * run are refused by `portcullis check`, naming them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';

const run = promisify(execFile);
const MAIN = new URL('../../../src/cli/main.ts', import.meta.url).pathname;

const SLOW = `import { Type, pdk, type PluginModule } from 'portcullis/plugin';
const plugin: PluginModule<{ ms: number }, { ms: number }> = {
  name: 'slow-header',
  version: '2.0.0',
  priority: 5,
  schema: Type.Object({ ms: Type.Integer({ minimum: 0, default: 0 }) }, { additionalProperties: false }),
  compile: (c) => c,
  access(ctx, conf) {
    const until = Date.now() + conf.ms;
    while (Date.now() < until) { /* hold the event loop */ }
    pdk.response.setHeader(ctx, 'x-slow', String(conf.ms));
  },
};
export default plugin;
`;

let gw: ClusterGateway;
let echo: Echo;
let dir: string;

before(async () => {
  echo = await startEcho();
  dir = await mkdtemp(join(tmpdir(), 'portcullis-own-plugins-'));
  await writeFile(join(dir, 'slow-header.ts'), SLOW);
  gw = await startClusterGateway({ workers: 2, env: { KONG_PLUGINS: 'bundled,slow-header', KONG_PLUGINS_PATH: dir } });
  assert.equal((await gw.admin('POST', '/services', { name: 'echo', url: echo.url })).status, 201);
  for (const [name, ms] of [['fast', 0], ['slow', 250]] as const) {
    assert.equal((await gw.admin('POST', '/services/echo/routes', { name, paths: [`/${name}`] })).status, 201);
    assert.equal((await gw.admin('POST', `/routes/${name}/plugins`, { name: 'slow-header', config: { ms } })).status, 201);
  }
  await gw.settle();
});

after(async () => {
  await gw?.close();
  await echo?.close();
});

test('a TypeScript plugin from plugins_path runs on both workers and is listed with its version', async () => {
  for (let i = 0; i < 4; i++) {
    const r = await gw.get('/fast');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-slow'], '0');
  }
  const root = await gw.admin('GET', '/');
  assert.equal(root.body.plugins.available_on_server['slow-header'].version, '2.0.0');
});

test('our own plugin blocking the event loop is reported by name', async () => {
  assert.equal((await gw.get('/slow')).headers['x-slow'], '250');
  let line: string | undefined;
  for (let i = 0; i < 100 && line === undefined; i++) {
    line = gw.output().split('\n').find((l) => l.includes("plugin 'slow-header' blocked the event loop"));
    if (line === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(line !== undefined, 'no report names slow-header');
});

async function check(conf: string): Promise<{ code: number; stderr: string }> {
  const file = join(dir, `kong-${Math.random().toString(36).slice(2)}.conf`);
  await writeFile(file, conf);
  try {
    await run(process.execPath, [MAIN, 'check', file], { env: { PATH: process.env.PATH } });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

test('refusals at start name what is wrong', async () => {
  const missing = await check(`plugins = bundled,nowhere-plugin\nplugins_path = ${dir}\n`);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /plugins: 'nowhere-plugin' is enabled but not installed \(looked in /);
  const go = await check('plugins = bundled,go-hello\npluginserver_names = go\npluginserver_go_start_cmd = /usr/local/bin/go-hello -kong-prefix /usr/local/kong\n');
  assert.equal(go.code, 1);
  assert.match(go.stderr, /pluginserver_go_start_cmd = .*only kong-js-pluginserver/);
  const noDir = await check('plugins = bundled\npluginserver_names = js\npluginserver_js_start_cmd = /usr/local/bin/kong-js-pluginserver -v\n');
  assert.equal(noDir.code, 1);
  assert.match(noDir.stderr, /no --plugins-directory/);
  const ok = await check(`plugins = bundled,slow-header\nplugins_path = ${dir}\n`);
  assert.equal(ok.code, 0, ok.stderr);
});
