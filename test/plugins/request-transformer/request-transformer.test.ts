/** request-transformer through the whole gateway; the echo upstream reports what it received. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';

let gw: TestGateway;
let echo: Echo;
let n = 0;

before(async () => {
  echo = await startEcho();
  gw = await startGateway({ logLevel: 'warn' });
  assert.equal((await gw.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
});

after(async () => {
  await gw.close();
  await echo.close();
});

async function route(config: Record<string, unknown>, paths?: string[]): Promise<string> {
  const name = `rt${++n}`;
  assert.equal((await gw.admin('POST', '/services/svc/routes', { name, paths: paths ?? [`/${name}`] })).status, 201);
  const r = await gw.admin('POST', `/routes/${name}/plugins`, { name: 'request-transformer', config });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await gw.settle();
  return `${gw.proxyUrl}/${name}`;
}

async function send(url: string, init?: RequestInit): Promise<EchoReply> {
  const res = await fetch(url, init);
  assert.equal(res.status, 200);
  return (await res.json()) as EchoReply;
}

test('headers: remove, rename, replace (only existing), add (only missing), append', async () => {
  const url = await route({
    remove: { headers: ['x-secret'] },
    rename: { headers: ['x-old:x-new'] },
    replace: { headers: ['x-rep:replaced', 'x-absent:never'] },
    add: { headers: ['x-added:1', 'x-keep:overwritten?'] },
    append: { headers: ['x-list:b'] },
  });
  const reply = await send(url, { headers: { 'x-secret': 's', 'x-old': 'v', 'x-rep': 'orig', 'x-keep': 'mine', 'x-list': 'a' } });
  const h = reply.headers;
  assert.equal(h['x-secret'], undefined);
  assert.equal(h['x-old'], undefined);
  assert.equal(h['x-new'], 'v');
  assert.equal(h['x-rep'], 'replaced');
  assert.equal(h['x-absent'], undefined);
  assert.equal(h['x-added'], '1');
  assert.equal(h['x-keep'], 'mine');
  const list = Array.isArray(h['x-list']) ? h['x-list'].join(', ') : h['x-list'];
  assert.equal(list, 'a, b');
});

test('querystring: remove, rename, replace, add, append', async () => {
  const url = await route({
    remove: { querystring: ['drop'] },
    rename: { querystring: ['old:new'] },
    replace: { querystring: ['rep:2'] },
    add: { querystring: ['added:yes', 'keep:no'] },
    append: { querystring: ['tag:b'] },
  });
  const reply = await send(`${url}?drop=1&old=v&rep=1&keep=mine&tag=a`);
  assert.deepEqual(reply.args, { added: 'yes', keep: 'mine', new: 'v', rep: '2', tag: ['a', 'b'] });
});

test('templates read request headers, query params and uri captures', async () => {
  const url = await route(
    {
      add: { headers: ['x-user-id:$(uri_captures.id)', 'x-from-query:$(query_params.q)'], querystring: ['agent:$(headers["x-agent"] or "none")'] },
    },
    ['~/users/(?<id>\\d+)$'],
  );
  const reply = await send(`${gw.proxyUrl}/users/42?q=hello`, { headers: { 'x-agent': 'probe' } });
  void url;
  assert.equal(reply.headers['x-user-id'], '42');
  assert.equal(reply.headers['x-from-query'], 'hello');
  assert.equal((reply.args as Record<string, string>).agent, 'probe');
});

test('JSON body: fields removed, renamed, replaced, added and appended; Content-Length matches', async () => {
  const url = await route({
    remove: { body: ['password'] },
    rename: { body: ['user:username'] },
    replace: { body: ['role:guest'] },
    add: { body: ['source:gateway'] },
    append: { body: ['tags:new'] },
  });
  const reply = await send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'ann', password: 'p', role: 'admin', tags: ['old'] }),
  });
  assert.deepEqual(reply.json, { username: 'ann', role: 'guest', source: 'gateway', tags: ['old', 'new'] });
  assert.equal(Number(reply.headers['content-length']), Buffer.byteLength(reply.data));
});

test('form body: fields transformed and re-encoded', async () => {
  const url = await route({ remove: { body: ['b'] }, add: { body: ['c:3'] }, replace: { body: ['a:9'] } });
  const reply = await send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'a=1&b=2',
  });
  assert.deepEqual(reply.form, { a: '9', c: '3' });
});

test('a body of another type streams through untouched', async () => {
  const url = await route({ add: { body: ['x:1'] } });
  const reply = await send(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
  assert.equal(reply.data, 'hello');
});

test('http_method and replace.uri change what the upstream receives', async () => {
  const url = await route({ http_method: 'PUT', replace: { uri: '/replaced/path' } });
  const reply = await send(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(reply.method, 'PUT');
  assert.equal(reply.path, '/replaced/path');
});

test('switching to GET moves form fields into the query string', async () => {
  const url = await route({ http_method: 'GET' });
  const reply = await send(`${url}?a=1`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'b=2' });
  assert.equal(reply.method, 'GET');
  assert.deepEqual(reply.args, { a: '1', b: '2' });
});

test('configuration errors use Kong’s messages; defaults are empty lists', async () => {
  let r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'request-transformer', config: { add: { body: ['novalue'] } } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body.fields.config.add.body, ["key 'novalue' has no value"]);
  r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'request-transformer', config: { add: { headers: ['bad header:1'] } } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body.fields.config.add.headers, ["'bad header' is not a valid header"]);
  r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'request-transformer', config: { add: { querystring: ['x:$(os.getenv("HOME"))'] } } });
  assert.equal(r.status, 400);
  r = await gw.admin('POST', '/plugins', { name: 'request-transformer', config: {} });
  assert.equal(r.status, 201);
  assert.deepEqual(r.body.config, {
    http_method: null,
    remove: { body: [], headers: [], querystring: [] },
    rename: { body: [], headers: [], querystring: [] },
    replace: { body: [], headers: [], querystring: [], uri: null },
    add: { body: [], headers: [], querystring: [] },
    append: { body: [], headers: [], querystring: [] },
  });
  await gw.admin('DELETE', `/plugins/${r.body.id}`);
});
