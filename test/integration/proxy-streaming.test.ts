/**
 * Bodies stream through the proxy in both directions: nothing waits for a
 * whole body. The drip tests deadlock (and time out) if either direction
 * were buffered: each side only sends its second chunk after the other end
 * has seen the first.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { route, service, snapshot, startTestProxy, type TestProxy } from '../helpers/proxy.ts';

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref())]);
}

let up: TestUpstream;
let proxy: TestProxy;
let upstreamSawFirstChunk = deferred();
let clientSawFirstChunk = deferred();
const BIG = randomBytes(16 * 1024 * 1024);
const BIG_SHA = createHash('sha256').update(BIG).digest('hex');

before(async () => {
  up = await startUpstream((req, res) => {
    if (req.url === '/upload') {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        size += c.length;
      });
      req.on('end', () => res.end(JSON.stringify({ size, sha: hash.digest('hex'), te: req.headers['transfer-encoding'] ?? null })));
      return;
    }
    if (req.url === '/download') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length });
      res.end(BIG);
      return;
    }
    if (req.url === '/drip-in') {
      let first = true;
      const parts: string[] = [];
      req.on('data', (c: Buffer) => {
        parts.push(c.toString());
        if (first) {
          first = false;
          upstreamSawFirstChunk.resolve();
        }
      });
      req.on('end', () => res.end(parts.join('')));
      return;
    }
    if (req.url === '/drip-out') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      void clientSawFirstChunk.promise.then(() => res.end('second'));
      return;
    }
    res.end('?');
  });
  const svc = service({ host: '127.0.0.1', port: up.port });
  proxy = await startTestProxy(snapshot({ services: [svc], routes: [route(svc, { paths: ['/'], strip_path: false })] }));
});

after(async () => {
  await proxy.close();
  await up.close();
});

test('a 16 MiB upload arrives intact (Content-Length kept)', async () => {
  const res = await fetch(`${proxy.url}/upload`, { method: 'POST', body: BIG });
  const body = (await res.json()) as { size: number; sha: string; te: string | null };
  assert.equal(body.size, BIG.length);
  assert.equal(body.sha, BIG_SHA);
  assert.equal(body.te, null);
});

test('a 16 MiB download arrives intact', async () => {
  const res = await fetch(`${proxy.url}/download`);
  assert.equal(res.headers.get('content-length'), String(BIG.length));
  const got = Buffer.from(await res.arrayBuffer());
  assert.equal(createHash('sha256').update(got).digest('hex'), BIG_SHA);
});

test('a chunked request body streams: the upstream sees the first chunk before the client sent the rest', async () => {
  upstreamSawFirstChunk = deferred();
  const done = deferred<string>();
  const req = request({ host: '127.0.0.1', port: proxy.port, path: '/drip-in', method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
    let body = '';
    res.on('data', (c: Buffer) => (body += c.toString()));
    res.on('end', () => done.resolve(body));
  });
  req.write('part-one;');
  await within(upstreamSawFirstChunk.promise, 5000, 'upstream never saw the first chunk while the request was still open');
  req.end('part-two');
  assert.equal(await within(done.promise, 5000, 'response'), 'part-one;part-two');
});

test('a response body streams: the client sees the first chunk before the upstream sent the rest', async () => {
  clientSawFirstChunk = deferred();
  const done = deferred<string>();
  request({ host: '127.0.0.1', port: proxy.port, path: '/drip-out' }, (res) => {
    let body = '';
    res.on('data', (c: Buffer) => {
      body += c.toString();
      clientSawFirstChunk.resolve();
    });
    res.on('end', () => done.resolve(body));
  }).end();
  await within(clientSawFirstChunk.promise, 5000, 'client never saw the first chunk while the response was still open');
  assert.equal(await within(done.promise, 5000, 'response end'), 'first;second');
});
