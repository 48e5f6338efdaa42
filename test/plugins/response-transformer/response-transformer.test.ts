/** response-transformer through the whole gateway: headers, JSON bodies, json_types, non-JSON bodies, config checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usePluginRoutes } from '../../helpers/plugin-routes.ts';

const fx = usePluginRoutes('response-transformer', 'rt');
const route = (config: Record<string, unknown>): Promise<string> => fx.route(config);

test('headers: remove, rename, replace (only present), add (only absent), append', async () => {
  const url = await route({
    remove: { headers: ['x-remove-me'] },
    rename: { headers: ['content-type:x-original-type'] },
    replace: { headers: ['x-missing:no', 'date:replaced'] },
    add: { headers: ['x-added:1', 'date:not-added'] },
    append: { headers: ['x-added:2', 'x-list:a'] },
  });
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), null);
  assert.equal(res.headers.get('x-original-type'), 'application/json');
  assert.equal(res.headers.get('x-missing'), null);
  assert.equal(res.headers.get('date'), 'replaced');
  assert.equal(res.headers.get('x-added'), '1, 2');
  assert.equal(res.headers.get('x-list'), 'a');
  await res.text();
});

test('json: the documented example (remove, rename, replace, add, append)', async () => {
  const url = await route({
    remove: { json: ['origin', 'files'] },
    rename: { json: ['url:address'] },
    replace: { json: ['method:PUT', 'nope:x'] },
    add: { json: ['new-key:some value', 'method:not added'] },
    append: { json: ['path:/second', 'list:one'] },
  });
  const res = await fetch(`${url}/p?a=1`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.headers.get('content-length'), null);
  const doc = (await res.json()) as Record<string, unknown>;
  assert.equal(doc.origin, undefined);
  assert.equal(doc.files, undefined);
  assert.equal(doc.url, undefined);
  assert.match(String(doc.address), /\/p\?a=1$/);
  assert.equal(doc.method, 'PUT');
  assert.equal(doc.nope, undefined);
  assert.equal(doc['new-key'], 'some value');
  assert.deepEqual(doc.path, ['/p', '/second']);
  assert.deepEqual(doc.list, ['one']);
});

test('json_types cast values by position; an empty value is the text "null"', async () => {
  const url = await route({
    add: { json: ['n:42', 'b:true', 's:7', 'x:abc', 'empty:'], json_types: ['number', 'boolean', 'string', 'number'] },
  });
  const doc = (await (await fetch(url)).json()) as Record<string, unknown>;
  assert.equal(doc.n, 42);
  assert.equal(doc.b, true);
  assert.equal(doc.s, '7');
  assert.equal(Object.hasOwn(doc, 'x'), false, 'not a number: skipped (Kong: tonumber is nil)');
  assert.equal(doc.empty, 'null');
});

test('a non-JSON or unparsable body is sent unchanged; headers are still transformed', async () => {
  const url = await route({ add: { json: ['k:v'], headers: ['x-rt:1'] } });
  const bytes = await fetch(`${url}/bytes/64`);
  assert.equal(bytes.headers.get('x-rt'), '1');
  assert.equal((await bytes.arrayBuffer()).byteLength, 64);
  // /stream/3: JSON lines in several chunks, not one JSON document.
  const stream = await fetch(`${url}/stream/3`);
  const text = await stream.text();
  assert.equal(text.trim().split('\n').length, 3);
  assert.equal(text.includes('"k":"v"'), false);
});

test('gateway answers pass through it too (an upstream status with an empty body)', async () => {
  const url = await route({ add: { headers: ['x-rt:1'], json: ['k:v'] } });
  const res = await fetch(`${url}/status/404`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('x-rt'), '1');
  assert.equal(await res.text(), '');
});

test("Kong's config checks: colon lists, rename header names, json_types values", async () => {
  await fx.gw.admin('POST', '/services/svc/routes', { name: 'bad', paths: ['/bad'] });
  const post = (config: Record<string, unknown>) => fx.gw.admin('POST', '/routes/bad/plugins', { name: 'response-transformer', config });
  let r = await post({ add: { json: ['ok:1', 'nocolon'] } });
  assert.equal(r.status, 400);
  assert.deepEqual((r.body as any).fields.config.add.json, [null, 'invalid value: nocolon']);
  r = await post({ rename: { headers: ['x-a:bad header'] } });
  assert.equal(r.status, 400);
  assert.deepEqual((r.body as any).fields.config.rename.headers, ["'bad header' is not a valid header"]);
  r = await post({ append: { json_types: ['object'] } });
  assert.equal(r.status, 400);
  r = await post({});
  assert.equal(r.status, 201);
  const cfg = (r.body as any).config;
  assert.deepEqual(cfg.add, { json: [], json_types: [], headers: [] });
  assert.deepEqual(cfg.remove, { json: [], headers: [] });
});
