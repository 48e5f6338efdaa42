/**
 * file-log, tcp-log, udp-log and syslog through the real proxy at --workers
 * 2, each delivering to a real receiver started here (a file, a TCP server, a
 * UDP socket, a Unix datagram socket served by python3 as a syslog daemon
 * would), with Kong's documented examples, secrets redacted, receivers that
 * are down (requests not slowed, an error line), and custom_fields_by_lua
 * refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { waitFor } from '../../helpers/wait.ts';


async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const SECRET_HEADERS = { authorization: 'Basic SECRETVALUE', cookie: 'sid=SECRETVALUE', 'x-auth-token': 'SECRETVALUE' };

describe('file-log, tcp-log, udp-log, syslog at --workers 2', () => {
  let echo: Echo;
  let gw: ClusterGateway;
  let dir: string;
  let syslogd: ChildProcess;
  let syslogOut = '';
  let n = 0;

  async function route(plugin: string, config: Record<string, unknown>, extra: Array<{ name: string; config: Record<string, unknown> }> = []): Promise<string> {
    const name = `lp${++n}`;
    assert.equal((await gw.admin('POST', '/services/svc/routes', { name, paths: [`/${name}`] })).status, 201);
    for (const p of [{ name: plugin, config }, ...extra]) {
      const r = await gw.admin('POST', `/routes/${name}/plugins`, p);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    await gw.settle();
    return `/${name}`;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portcullis-log-'));
    const sock = join(dir, 'syslog.sock');
    // A syslog daemon's socket: Unix datagrams, one message each, printed one per line.
    syslogd = spawn('python3', ['-u', '-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    d = s.recv(1 << 20)
    sys.stdout.write(d.decode() + "\\n"); sys.stdout.flush()
`, sock]);
    syslogd.stdout!.setEncoding('utf8');
    syslogd.stdout!.on('data', (d: string) => (syslogOut += d));
    await waitFor('the syslog socket', () => syslogOut.includes('ready'), 10_000, 20);
    echo = await startEcho();
    gw = await startClusterGateway({ workers: 2, env: { PORTCULLIS_SYSLOG_SOCKET: sock } });
    assert.equal((await gw.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
    assert.equal((await gw.admin('POST', '/consumers', { username: 'bob' })).status, 201);
    assert.equal((await gw.admin('POST', '/consumers/bob/key-auth', { key: 'SECRETVALUE-key' })).status, 201);
  });
  after(async () => {
    await gw?.close();
    await echo?.close();
    syslogd?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  test("file-log (Kong's example: path /tmp/file.log, reopen): one JSON line per request, secrets redacted, reopened after a rotation", async () => {
    const file = join(dir, 'file.log');
    const path = await route('file-log', { path: file, reopen: true });
    for (let i = 0; i < 10; i++) assert.equal((await gw.get(`${path}?i=${i}`, SECRET_HEADERS)).status, 200);
    const lines = async () => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
    await waitFor('ten lines', async () => (await lines()).length >= 10, 5000, 20);
    const entries = (await lines()).map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(entries.length, 10);
    assert.equal(new Set(entries.map((e) => e.request.id)).size, 10);
    assert.equal(entries[0]!.request.headers.authorization, 'REDACTED');
    assert.equal(entries[0]!.request.headers.cookie, 'REDACTED');
    assert.equal(entries[0]!.response.status, 200);
    assert.equal((await stat(file)).mode & 0o777, 0o644);
    assert.ok(!(await readFile(file, 'utf8')).includes('SECRETVALUE'));
    // logrotate-style rename: with reopen the next entries go to a new file at `path`.
    await rename(file, `${file}.1`);
    for (let i = 0; i < 4; i++) assert.equal((await gw.get(`${path}?after=${i}`)).status, 200);
    await waitFor('lines in the new file', async () => (await lines()).length >= 4, 5000, 20);
    assert.ok((await lines()).every((l) => (JSON.parse(l) as any).request.querystring.after !== undefined));
  });

  test('file-log: a file that cannot be opened is reported, requests still answered', async () => {
    const path = await route('file-log', { path: join(dir, 'missing-dir', 'x.log') });
    assert.equal((await gw.get(path)).status, 200);
    await waitFor('the error line', () => gw.output().includes('failed to open the file'), 5000, 20);
  });

  test("tcp-log (Kong's example: host, port, timeout, keepalive): JSON lines over a kept-alive connection, key-auth's key redacted", async () => {
    const received: string[] = [];
    const conns: Socket[] = [];
    const server: Server = createServer((s) => {
      conns.push(s);
      s.setEncoding('utf8');
      s.on('data', (d: string) => received.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const path = await route('tcp-log', { host: '127.0.0.1', port, timeout: 10000, keepalive: 60000 }, [
        { name: 'key-auth', config: { key_names: ['x-custom-key'] } },
      ]);
      for (let i = 0; i < 10; i++) assert.equal((await gw.get(`${path}?i=${i}`, { 'x-custom-key': 'SECRETVALUE-key' })).status, 200);
      const lines = () => received.join('').split('\n').filter((l) => l !== '');
      await waitFor('ten lines', () => lines().length >= 10, 5000, 20);
      const entries = lines().map((l) => JSON.parse(l) as Record<string, any>);
      assert.equal(entries.length, 10);
      assert.equal(entries[0]!.consumer.username, 'bob');
      assert.equal(typeof entries[0]!.authenticated_entity.id, 'string');
      assert.equal(entries[0]!.request.headers['x-custom-key'], 'REDACTED', "key-auth's configured key name is redacted");
      assert.ok(!received.join('').includes('SECRETVALUE'));
      assert.ok(conns.length <= 4, `connections reused: ${conns.length} for 10 entries on 2 workers`);
    } finally {
      for (const c of conns) c.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  test('tcp-log: a log server that is down does not slow requests and is reported', async () => {
    const port = await freePort();
    const path = await route('tcp-log', { host: '127.0.0.1', port });
    const t = performance.now();
    for (let i = 0; i < 5; i++) assert.equal((await gw.get(path)).status, 200);
    assert.ok(performance.now() - t < 1000, `5 requests took ${(performance.now() - t).toFixed(0)} ms`);
    await waitFor('the error line', () => gw.output().includes(`failed to connect to 127.0.0.1:${port}`), 5000, 20);
  });

  test("udp-log (Kong's example: host, port, timeout): one JSON datagram per request", async () => {
    const sock = createSocket('udp4');
    const got: string[] = [];
    sock.on('message', (m) => got.push(m.toString('utf8')));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    try {
      const path = await route('udp-log', { host: '127.0.0.1', port: sock.address().port, timeout: 10000 });
      for (let i = 0; i < 10; i++) assert.equal((await gw.get(`${path}?i=${i}`, SECRET_HEADERS)).status, 200);
      await waitFor('ten datagrams', () => got.length >= 10, 5000, 20);
      const entries = got.map((g) => JSON.parse(g) as Record<string, any>);
      assert.equal(new Set(entries.map((e) => e.request.id)).size, 10);
      assert.deepEqual(entries.map((e) => Number(e.request.querystring.i)).sort((a, b) => a - b), [...Array(10).keys()]);
      assert.equal(entries[0]!.request.headers.authorization, 'REDACTED');
      assert.ok(!got.join('').includes('SECRETVALUE'));
    } finally {
      sock.close();
    }
  });

  test("syslog (Kong's example: log levels): severity by status class, facility in PRI, entries below log_level not sent", async () => {
    const path = await route('syslog', {
      log_level: 'info',
      successful_severity: 'info',
      client_errors_severity: 'debug',
      server_errors_severity: 'crit',
      facility: 'local3',
    });
    const before = syslogOut.length;
    assert.equal((await gw.get(`${path}/status/200?m=ok`, SECRET_HEADERS)).status, 200);
    assert.equal((await gw.get(`${path}/status/404?m=client`)).status, 404);
    assert.equal((await gw.get(`${path}/status/503?m=server`)).status, 503);
    const msgs = () => syslogOut.slice(before).split('\n').filter((l) => l.startsWith('<'));
    await waitFor('two syslog messages', () => msgs().length >= 2, 5000, 20);
    await new Promise((r) => setTimeout(r, 300));
    const got = msgs();
    assert.equal(got.length, 2, 'the 404 (debug) is below log_level info');
    const parsed = got.map((l) => {
      const m = /^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d kong\[(\d+)\]: (.*)$/.exec(l);
      assert.ok(m, l.slice(0, 80));
      return { pri: Number(m[1]), pid: Number(m[2]), entry: JSON.parse(m[3]!) as Record<string, any> };
    });
    const ok = parsed.find((p) => p.entry.response.status === 200)!;
    const err = parsed.find((p) => p.entry.response.status === 503)!;
    assert.equal(ok.pri, 19 * 8 + 6, 'local3.info');
    assert.equal(err.pri, 19 * 8 + 2, 'local3.crit');
    assert.ok(gw.workerPids().includes(ok.pid), 'the pid is the worker that served the request');
    assert.equal(ok.entry.request.headers.authorization, 'REDACTED');
    assert.ok(!got.join('').includes('SECRETVALUE'));
  });

  test('custom_fields_by_lua is refused by every logging plugin, naming the field', async () => {
    const configs: Record<string, Record<string, unknown>> = {
      'file-log': { path: join(dir, 'x.log') },
      'tcp-log': { host: '127.0.0.1', port: 9 },
      'udp-log': { host: '127.0.0.1', port: 9 },
      syslog: {},
    };
    for (const [name, config] of Object.entries(configs)) {
      const r = await gw.admin('POST', '/plugins', { name, config: { ...config, custom_fields_by_lua: { f: "return 'x'" } } });
      assert.equal(r.status, 400, name);
      assert.match(JSON.stringify(r.body.fields), /custom_fields_by_lua.*no Lua/, name);
    }
    const r = await gw.admin('POST', '/plugins', { name: 'file-log', config: { path: '/tmp/a*b.log' } });
    assert.equal(r.status, 400);
  });

  test('a kong.yml using all five logging plugins loads, and its file-log writes', async () => {
    const file = join(dir, 'declared.log');
    const yml = `_format_version: "3.0"
services:
- name: declared
  url: ${echo.url}
  routes:
  - name: declared
    paths: [/declared]
    plugins:
    - name: file-log
      config: { path: ${file} }
    - name: http-log
      config: { http_endpoint: "http://127.0.0.1:9/logs", queue: { max_batch_size: 10, max_coalescing_delay: 2 } }
    - name: tcp-log
      config: { host: 127.0.0.1, port: 9, tls: false }
    - name: udp-log
      config: { host: 127.0.0.1, port: 9 }
    - name: syslog
      config: { facility: local0, server_errors_severity: err }
`;
    const r = await gw.admin('POST', '/config', { config: yml });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await gw.settle();
    assert.equal((await gw.get('/declared')).status, 200);
    await waitFor('the declared route logged', async () => (await readFile(file, 'utf8').catch(() => '')).includes('"declared"'), 5000, 20);
  });
});
