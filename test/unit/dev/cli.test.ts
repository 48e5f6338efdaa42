import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { runDevEcho, runDevIdp, parseFlags } from '../../../src/dev/cli.ts';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let s = '';
  stream.on('data', (c: Buffer) => (s += c.toString()));
  return { stream, text: () => s };
}

test('flags parse in both --name value and --name=value forms; unknown flags are refused', () => {
  assert.deepEqual(parseFlags(['--port', '9001', '--host=127.0.0.1'], { port: 'port', host: 'string' }), { port: 9001, host: '127.0.0.1' });
  assert.throws(() => parseFlags(['--nope', '1'], { port: 'port' }), /unknown flag: --nope/);
  assert.throws(() => parseFlags(['--port', 'x'], { port: 'port' }), /must be a number/);
  assert.throws(() => parseFlags(['--port', '70000'], { port: 'port' }), /between 0 and 65535/);
});

test('dev idp names the taken port in a clear error and exits 1', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const err = capture();
  const code = await runDevIdp(['--port', String(port)], { stdout: capture().stream, stderr: err.stream, env: {} });
  blocker.close();
  assert.equal(code, 1);
  assert.equal(err.text(), `error: port ${port} is already in use (IdP)\n`);
});

test('dev echo reads its port from PORTCULLIS_ECHO_PORT, prints its URL, serves, and stops cleanly', async () => {
  const out = capture();
  const ac = new AbortController();
  const ready = Promise.withResolvers<string>();
  const done = runDevEcho([], {
    stdout: out.stream, stderr: capture().stream, env: { PORTCULLIS_ECHO_PORT: '0' }, signal: ac.signal,
    onReady: (info) => ready.resolve(info.url),
  });
  const url = await ready.promise;
  assert.match(out.text(), new RegExp(`${url}/anything`));
  const res = await fetch(`${url}/anything?x=1`);
  assert.equal(((await res.json()) as { args: unknown }).args && 200, 200);
  ac.abort();
  assert.equal(await done, 0);
  await assert.rejects(fetch(`${url}/anything`));
});

test('dev idp prints the issuer and the demo users, and a bad env value is a usage error', async () => {
  const out = capture();
  const ac = new AbortController();
  const ready = Promise.withResolvers<string>();
  const done = runDevIdp([], { stdout: out.stream, stderr: capture().stream, env: { PORTCULLIS_IDP_PORT: '0' }, signal: ac.signal, onReady: (i) => ready.resolve(i.url) });
  const issuer = await ready.promise;
  assert.match(issuer, /^http:\/\/127\.0\.0\.1:\d+\/realms\/demo$/);
  assert.match(out.text(), /Blog_with_scope/);
  assert.match(out.text(), /Blog_without_scope/);
  const d = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(d.status, 200);
  await d.arrayBuffer();
  ac.abort();
  assert.equal(await done, 0);

  const err = capture();
  assert.equal(await runDevIdp([], { stdout: capture().stream, stderr: err.stream, env: { PORTCULLIS_IDP_PORT: 'abc' } }), 2);
  assert.match(err.text(), /PORTCULLIS_IDP_PORT/);
});
