/**
 * kong-pdk from the npm registry, for tests: `kong-pdk@0.6.0` (its
 * PluginTest harness needs its dev dependencies uuid@9 and node-fetch@2) and
 * graphql@16 (js-graphql's dependency), installed once per machine into a
 * temp directory (no install scripts: npm 11 would refuse them, and none of
 * these has one). The example plugins are copied unmodified from
 * test/fixtures/kong-js-pdk next to that node_modules, as a
 * kong-js-pluginserver plugins directory holds them.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PACKAGES = ['kong-pdk@0.6.0', 'uuid@9.0.1', 'node-fetch@2.7.0', 'graphql@16.9.0'];
const CACHE = join(tmpdir(), 'portcullis-kong-pdk-0.6.0-a');
export const FIXTURES = new URL('../fixtures/kong-js-pdk/', import.meta.url).pathname;

/** A directory with node_modules/kong-pdk (and friends); installed on first use. */
export async function kongPdkRoot(): Promise<string> {
  if (existsSync(join(CACHE, 'node_modules', 'kong-pdk', 'plugin_test.js'))) return CACHE;
  const work = await mkdtemp(join(tmpdir(), 'portcullis-kong-pdk-install-'));
  // No "type": "module": the kong-pdk examples are CommonJS, as under kong-js-pluginserver.
  await writeFile(join(work, 'package.json'), JSON.stringify({ name: 'kong-pdk-test', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', ...PACKAGES], { cwd: work, timeout: 240_000 });
  try {
    await rename(work, CACHE);
  } catch {
    await rm(work, { recursive: true, force: true }); // another test file installed it meanwhile
  }
  return CACHE;
}

/**
 * A kong-js-pluginserver plugins directory: the unmodified examples in
 * `<root>/<name>/`, beside the installed node_modules (a fresh copy per call).
 */
export async function examplesDirectory(): Promise<string> {
  const root = await kongPdkRoot();
  const dir = await mkdtemp(join(root, 'js-plugins-'));
  await mkdir(dir, { recursive: true });
  for (const entry of ['js-hello.js', 'js-status.js', 'js-transform.js', 'js-goodbye', 'js-graphql']) {
    await cp(join(FIXTURES, entry), join(dir, entry), { recursive: true });
  }
  return dir;
}
