import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';

let echo: Echo;
before(async () => {
  echo = await startEcho();
});
after(async () => {
  await echo.close();
});

test('echoes method, path, query args, headers and a JSON body like httpbin /anything', async () => {
  const res = await fetch(`${echo.url}/anything/x?a=1&a=2&b=3`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Custom': 'Yes' },
    body: JSON.stringify({ hello: 'world' }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const r = (await res.json()) as EchoReply;
  assert.equal(r.method, 'POST');
  assert.equal(r.path, '/anything/x');
  assert.equal(r.url, `${echo.url}/anything/x?a=1&a=2&b=3`);
  assert.deepEqual(r.args, { a: ['1', '2'], b: '3' });
  assert.equal(r.headers['x-custom'], 'Yes');
  assert.equal(r.data, '{"hello":"world"}');
  assert.deepEqual(r.json, { hello: 'world' });
  assert.equal(r.origin, '127.0.0.1');
});

test('repeated request headers reach the echo as an array, exactly as sent', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(`${echo.url}/anything`, { headers: ['Host', '127.0.0.1', 'X-Dup', 'one', 'X-Dup', 'two'] as unknown as Record<string, string> }, (res) => {
      let s = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (s += c));
      res.on('end', () => resolve(s));
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual((JSON.parse(body) as EchoReply).headers['x-dup'], ['one', 'two']);
});

test('a form body is parsed into form, a non-JSON body gives json null', async () => {
  const res = await fetch(`${echo.url}/post`, { method: 'PUT', body: new URLSearchParams({ x: '1' }) });
  const r = (await res.json()) as EchoReply;
  assert.deepEqual(r.form, { x: '1' });
  assert.equal(r.json, null);
  assert.equal(r.data, 'x=1');
});

test('/status/:code answers that status', async () => {
  for (const code of [204, 418, 500, 503]) {
    const res = await fetch(`${echo.url}/status/${code}`);
    assert.equal(res.status, code);
    await res.arrayBuffer();
  }
  const bad = await fetch(`${echo.url}/status/abc`);
  assert.equal(bad.status, 400);
  await bad.arrayBuffer();
});

test('/delay/:seconds echoes after the delay', async () => {
  const t0 = Date.now();
  const res = await fetch(`${echo.url}/delay/1`);
  assert.equal(res.status, 200);
  await res.json();
  assert.ok(Date.now() - t0 >= 950);
});

test('/stream/:n sends n JSON lines chunked', async () => {
  const res = await fetch(`${echo.url}/stream/5`);
  assert.equal(res.headers.get('transfer-encoding'), 'chunked');
  const lines = (await res.text()).trim().split('\n');
  assert.equal(lines.length, 5);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { id: number }).id), [0, 1, 2, 3, 4]);
});

test('/bytes/:n sends n bytes', async () => {
  const res = await fetch(`${echo.url}/bytes/1000`);
  assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  assert.equal((await res.arrayBuffer()).byteLength, 1000);
});

test('counts the requests it receives', async () => {
  const before = echo.requestCount();
  await (await fetch(`${echo.url}/anything`)).arrayBuffer();
  assert.equal(echo.requestCount(), before + 1);
});
