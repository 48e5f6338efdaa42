/**
 * Issue 11, item 2: kong.conf syntax, precedence (flag › PORTCULLIS_* ›
 * KONG_* › kong.conf › default), the key table, warnings, strict arguments,
 * the `plugins` setting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseKongConf } from '../../../src/cli/kong-conf.ts';
import { resolveSettings, settingsWarnings, SettingsError } from '../../../src/cli/settings.ts';
import { parseArgs, ArgsError, SETTING_FLAGS } from '../../../src/cli/args.ts';
import { NO_EFFECT, DEFAULT_ONLY, SETTINGS } from '../../../src/cli/conf-keys.ts';
import { applyPluginsSetting } from '../../../src/cli/commands/start.ts';
import { enabledPlugins, getPlugin, setEnabledPlugins } from '../../../src/plugins/index.ts';
import { prepareEntity } from '../../../src/schema/validate.ts';

const conf = (text: string) => parseKongConf(text, '/etc/kong/kong.conf');

test('kong.conf syntax: comments, escaped #, case-insensitive keys, trimmed values', () => {
  const c = conf('# a comment\n\nLOG_LEVEL = debug   # trailing\npg_password = se\\#cret\n  proxy_listen=127.0.0.1:9000 , 127.0.0.1:9443 ssl\n');
  assert.equal(c.values.get('log_level'), 'debug');
  assert.equal(c.values.get('pg_password'), 'se#cret');
  const s = resolveSettings({}, {}, '/', c);
  assert.deepEqual(s.proxyListen, [{ host: '127.0.0.1', port: 9000, ssl: false }, { host: '127.0.0.1', port: 9443, ssl: true }]);
  assert.equal(s.pg.password, 'se#cret');
  assert.throws(() => conf('just words\n'), /kong.conf:1: expected 'key = value'/);
});

test('precedence: flag › PORTCULLIS_* › KONG_* › kong.conf › default', () => {
  const c = conf('log_level = error\nadmin_listen = 127.0.0.1:1001\npg_host = file\npg_port = 5000\n');
  const env = { KONG_LOG_LEVEL: 'warn', PORTCULLIS_ADMIN_LISTEN: '127.0.0.1:1002', KONG_ADMIN_LISTEN: '127.0.0.1:1003' };
  const s = resolveSettings({ 'pg-host': 'flag' }, env, '/', c);
  assert.equal(s.logLevel, 'warn');
  assert.equal(s.adminListen[0]!.port, 1002);
  assert.equal(s.pg.host, 'flag');
  assert.equal(s.pg.port, 5000);
  assert.equal(resolveSettings({}, {}, '/', null).logLevel, 'info');
});

test("booleans on/off, lists comma-separated, Kong's PostgreSQL defaults", () => {
  const s = resolveSettings({}, {}, '/', conf('real_ip_recursive = on\ntrusted_ips = 10.0.0.0/8, 192.168.0.0/16\nnginx_daemon = off\nheaders = off\n'));
  assert.equal(s.realIpRecursive, true);
  assert.deepEqual(s.trustedIps, ['10.0.0.0/8', '192.168.0.0/16']);
  assert.equal(s.daemon, false);
  assert.deepEqual(s.headers, { serverTokens: false, latencyTokens: false });
  assert.equal(s.pg.user, 'kong');
  assert.equal(s.pg.database, 'kong');
  assert.throws(() => resolveSettings({}, {}, '/', conf('real_ip_recursive = maybe\n')), /real_ip_recursive: expected on or off/);
});

test('nginx_worker_processes maps to workers; bad values name the property', () => {
  assert.equal(resolveSettings({}, {}, '/', conf('nginx_worker_processes = 3\n')).workers, 3);
  assert.throws(() => resolveSettings({}, {}, '/', conf('nginx_worker_processes = lots\n')), /nginx_worker_processes/);
  assert.throws(() => resolveSettings({}, {}, '/', conf('log_level = chatty\n')), /log_level/);
});

test('default-only properties: Kong\'s default accepted, anything else refused naming it', () => {
  assert.doesNotThrow(() => resolveSettings({}, {}, '/', conf('role = traditional\nstatus_listen = off\n')));
  assert.throws(() => resolveSettings({}, { KONG_ROLE: 'data_plane' }, '/', null), /role = data_plane/);
});

test('status_listen opens the status listener (Kong syntax); off unless asked for', () => {
  assert.deepEqual(resolveSettings({}, {}, '/', conf('status_listen = 0.0.0.0:8100\n')).statusListen, [{ host: '0.0.0.0', port: 8100, ssl: false }]);
  assert.deepEqual(resolveSettings({}, { KONG_STATUS_LISTEN: '127.0.0.1:8007 reuseport backlog=16384' }, '/').statusListen, [{ host: '127.0.0.1', port: 8007, ssl: false }]);
  assert.deepEqual(resolveSettings({}, {}, '/').statusListen, []);
  assert.throws(() => resolveSettings({}, { KONG_STATUS_LISTEN: '127.0.0.1:8543 ssl' }, '/'), /status_listen: ssl is not supported/);
});

test('warnings: no-effect and unknown properties and KONG_* variables, each named once', () => {
  const w = settingsWarnings({ KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE: '8k', KONG_NOT_A_THING: '1', KONG_PROXY_LISTEN: 'off', PATH: '/bin' }, conf('lua_package_path = ./?.lua\nmystery = 1\nlog_level = info\n'));
  assert.equal(w.length, 4, w.join('\n'));
  assert.ok(w.some((x) => x.includes("'lua_package_path'") && x.includes('no effect')));
  assert.ok(w.some((x) => x.includes("'mystery'") && x.includes('not a setting')));
  assert.ok(w.some((x) => x.includes('KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE') && x.includes('no effect')));
  assert.ok(w.some((x) => x.includes('KONG_NOT_A_THING')));
});

test('strict arguments: unknown flags and extra arguments are errors naming them; -h is help', () => {
  const spec = { usage: 'u', flags: SETTING_FLAGS, positionals: [0, 0] as const };
  assert.throws(() => parseArgs(['--foo', 'bar'], spec), (e: Error) => e instanceof ArgsError && /'--foo'/.test(e.message));
  assert.throws(() => parseArgs(['extra'], spec), /unexpected argument 'extra'/);
  assert.throws(() => parseArgs(['-c'], spec), /needs a value/);
  assert.deepEqual(parseArgs(['--foo', '-h'], spec), { help: true });
  const ok = parseArgs(['-c', 'k.conf', '--pg-host=db', '-p', '/x'], spec);
  assert.ok(!ok.help && ok.flags.conf === 'k.conf' && ok.flags['pg-host'] === 'db' && ok.flags.prefix === '/x');
});

test("plugins setting: bundled, a list, off; the refusal names the 'plugins' property truthfully", async () => {
  try {
    await applyPluginsSetting(resolveSettings({}, {}, '/', conf('plugins = key-auth, cors\n')));
    assert.deepEqual(enabledPlugins().filter((p) => !p.startsWith('admin-test')), ['cors', 'key-auth']);
    const r = prepareEntity('plugins', { name: 'acl', config: { allow: ['a'] } }, { mode: 'insert' });
    assert.equal(r.ok, false);
    assert.match(JSON.stringify(r), /plugin 'acl' not enabled; add it to the 'plugins' configuration property/);
    await applyPluginsSetting(resolveSettings({}, {}, '/', conf('plugins = off\n')));
    assert.equal(getPlugin('cors'), undefined);
    await applyPluginsSetting(resolveSettings({}, {}, '/', conf('plugins = bundled\n')));
    assert.ok(getPlugin('acl'));
    await assert.rejects(applyPluginsSetting(resolveSettings({}, {}, '/', conf('plugins = bundled, my-custom\n'))), /'my-custom' is enabled but not installed/);
  } finally {
    setEnabledPlugins(null);
  }
});

test('docs/cli.md lists every property of the key table', () => {
  const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
  for (const key of [...Object.keys(SETTINGS), ...Object.keys(DEFAULT_ONLY), ...Object.keys(NO_EFFECT)]) {
    assert.ok(doc.includes(`\`${key}\``), `docs/cli.md does not mention \`${key}\``);
  }
});

test("admin_gui_url: Kong's admin_gui_origin of each URL (scheme://host[:port]); anything else refused", () => {
  assert.deepEqual(resolveSettings({}, {}, '/', null).adminGuiOrigins, []);
  const c = conf('admin_gui_url = http://127.0.0.1:8003, https://Example.com/manager\n');
  assert.deepEqual(resolveSettings({}, {}, '/', c).adminGuiOrigins, ['http://127.0.0.1:8003', 'https://example.com']);
  assert.deepEqual(resolveSettings({}, { KONG_ADMIN_GUI_URL: 'http://km.test:8002/x/y' }, '/', null).adminGuiOrigins, ['http://km.test:8002']);
  assert.deepEqual(settingsWarnings({ KONG_ADMIN_GUI_URL: 'http://km.test' }, null), [], 'admin_gui_url has an effect: no warning');
  for (const bad of ['km.test:8002', 'ftp://km.test', 'http://']) {
    assert.throws(() => resolveSettings({}, { KONG_ADMIN_GUI_URL: bad }, '/', null), (e: unknown) => e instanceof SettingsError && /admin_gui_url/.test(e.message), bad);
  }
});
