/**
 * The same unmodified kong-pdk example plugins under kong-pdk's own
 * PluginTest harness (kong-pdk@0.6.0 from npm, plugin_test.js), with the
 * expectations of kong-pdk's own __tests__ (js-hello, js-status, js-transform)
 * and the ones the proxy test checks for goodbye and js-graphql: what the
 * plugins do under Kong's harness is what they do through Portcullis
 * (kong-pdk-proxy.test.ts asserts the same values through the real proxy).
 * The harness runs in a child process: kong-pdk's lib/mod.js registers
 * ts-node globally when it loads.
 *
 * Also: every PDK function the harness mocks (plugin_test.js mockFunctions,
 * the functions kong-pdk's users test against) is one the in-process bridge
 * answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { examplesDirectory, kongPdkRoot } from '../../helpers/kong-pdk.ts';
import { supportedFunctions } from '../../../src/plugins/custom/js-pdk.ts';

const run = promisify(execFile);

const HARNESS = `'use strict';
const { PluginTest, Request } = require('kong-pdk/plugin_test')
const dir = process.argv[2]
async function one(plugin, config, setup) {
  const r = new Request()
  setup(r)
  const t = new PluginTest(r)
  await t.Run(require(dir + '/' + plugin), config)
  return t
}
async function main() {
  const out = {}
  let t = await one('js-hello', { message: 'test' }, (r) => r.useURL('http://example.com').useMethod('GET').useHeaders({ Host: 'example.com' }))
  out.hello = t.response.headers.get('x-hello-from-javascript')
  t = await one('js-status', { message: 'test' }, (r) => r.useURL('http://example.com').useMethod('GET').useHeaders({ userId: 'test-id' }))
  out.statusOk = [t.response.status, t.response.headers.get('x-welcome')]
  t = await one('js-status', { message: 'test' }, (r) => r.useURL('http://example.com').useMethod('GET'))
  out.statusDenied = t.response.status
  t = await one('js-transform', {}, (r) => r.useURL('http://example.com').useMethod('GET').useHeaders({ Host: 'example.com' }).useBody('all lower case'))
  out.transform = { upstreamBody: t.serviceRequest.body, upstreamQuery: t.serviceRequest.url.search, status: t.response.status, serviceBody: t.serviceResponse.body, body: t.response.body }
  t = await one('js-goodbye', {}, (r) => r.useURL('http://example.com').useMethod('GET'))
  out.goodbye = t.response.headers.get('x-goodbye-from-javascript')
  t = await one('js-graphql', {}, (r) => r.useURL('http://example.com').useMethod('POST').useBody('{ hello }'))
  out.graphql = [t.response.status, t.response.body]
  process.stdout.write('RESULT ' + JSON.stringify(out) + '\\n')
  process.exit(0)
}
main().catch((e) => { console.error(e); process.exit(1) })
`;

test("kong-pdk's PluginTest harness: the unmodified examples behave as kong-pdk's own tests expect", { timeout: 300_000 }, async () => {
  const root = await kongPdkRoot();
  const dir = await examplesDirectory();
  const script = join(root, 'harness-run.cjs');
  await writeFile(script, HARNESS);
  const { stdout } = await run(process.execPath, [script, dir], { cwd: root, timeout: 60_000 });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line !== undefined, stdout);
  const out = JSON.parse(line.slice(7));
  assert.equal(out.hello, 'Javascript says test to example.com');
  assert.deepEqual(out.statusOk, [200, 'Javascript says test to test-id']);
  assert.equal(out.statusDenied, 403);
  assert.deepEqual(out.transform, {
    upstreamBody: 'ALL LOWER CASE',
    upstreamQuery: '?js-transform=v0.1.0',
    status: 200,
    serviceBody: 'OK',
    body: 'Response body from upstream:\nOK\nBody size: 2\n',
  });
  assert.equal(out.goodbye, 'Javascript says goodbye');
  assert.deepEqual(out.graphql, [200, { data: { hello: 'Hello world!' } }]);
});

test("every PDK function kong-pdk's PluginTest harness mocks is answered in-process", { timeout: 300_000 }, async () => {
  const root = await kongPdkRoot();
  const source = await readFile(join(root, 'node_modules', 'kong-pdk', 'plugin_test.js'), 'utf8');
  const mocked = new Set([...source.matchAll(/"(kong\.[a-z_.]+)"/g)].map((m) => m[1]!));
  assert.ok(mocked.size > 60, `only ${mocked.size} functions found in plugin_test.js`);
  const ours = new Set(supportedFunctions());
  const missing = [...mocked].filter((f) => !ours.has(f));
  assert.deepEqual(missing, []);
});
