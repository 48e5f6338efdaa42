/**
 * Response splitting and downstream queue poisoning (issue 9, items 2, 4, 6).
 *
 * An upstream that frames its answer ambiguously — Transfer-Encoding and
 * Content-Length together, an unknown or non-final transfer coding, two
 * Content-Lengths, a malformed chunk line, chunked in an HTTP/1.0 answer —
 * can make the gateway relay bytes the client parses as a SECOND response.
 * That answer is then taken as the reply to the client's next request on the
 * keep-alive connection (and, behind a CDN that pools connections to the
 * gateway, as someone else's reply): an attacker who controls or can inject
 * into one upstream answer serves arbitrary content (a fake `200 … pwned`) to
 * other users, or swallows their real answers. Reusing the upstream
 * connection after such an answer poisons the next client's request the
 * same way from the other side.
 *
 * Black box: a MALICIOUS raw upstream answers each path with one trick; the
 * client reads with a strict HTTP/1.1 reader and treats any byte after a
 * complete response as the poisoning symptom. Expected: ambiguous or invalid
 * framing → 502 with Kong's body for upstream errors (nginx ≥ 1.21.1 refuses
 * these answers the same way), never the fake response; then three clients —
 * one on the same keep-alive connection, two on new connections (a GET the
 * fast lane serves, a POST node:http serves) — each get exactly their own
 * answer, and the upstream connection that carried the trick is never used
 * again. Each trick is sent as a GET (fast lane) and as a POST with a body
 * (node:http), against `portcullis start --workers 2` and the in-process
 * gateway.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { GATEWAYS, RawClient, closeBounded, converge, header, mark, must, ok, startRawServer, type Gw, type RawServer, type Response } from './harness.ts';

const FAKE = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\npwned';
const UPSTREAM_502 = 'An invalid response was received from the upstream server';

type Expect =
  /** 502, Kong's upstream-error body. */
  | 'bad-gateway'
  /** 502, or a strictly framed 200 whose body is exactly `hello`. */
  | 'bad-gateway-or-hello'
  /** 502, or the connection cut before the response is complete (the head was already sent). */
  | 'bad-gateway-or-cut';

interface Trick {
  key: string;
  label: string;
  bytes: string;
  /** Close the upstream connection after answering (read-until-close framings). */
  close?: boolean;
  expect: Expect;
  /** The upstream connection may be reused after this answer (it was well-framed). */
  reusable?: boolean;
}

const chunk = (s: string): string => `${Buffer.byteLength(s, 'latin1').toString(16)}\r\n${s}\r\n`;

const TRICKS: readonly Trick[] = [
  {
    key: 'te-cl0',
    label: '(i) Transfer-Encoding: chunked + Content-Length: 0, the chunk is a complete fake response',
    bytes: `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n${chunk(FAKE)}0\r\n\r\n`,
    expect: 'bad-gateway',
  },
  {
    key: 'cl100-te',
    label: '(ii) Content-Length: 100 + Transfer-Encoding: chunked with an empty chunked body',
    bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    expect: 'bad-gateway',
  },
  {
    key: 'xchunked',
    label: '(iii) Transfer-Encoding: xchunked + Content-Length: 5, then more bytes',
    bytes: `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello${FAKE}`,
    close: true,
    expect: 'bad-gateway',
  },
  {
    key: 'gzip',
    label: '(iv) Transfer-Encoding: gzip (chunked not last)',
    bytes: `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip\r\n\r\nhello${FAKE}`,
    close: true,
    expect: 'bad-gateway',
  },
  {
    key: 'two-cl',
    label: '(v) two different Content-Length values',
    bytes: `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nContent-Length: ${5 + FAKE.length}\r\n\r\nhello${FAKE}`,
    expect: 'bad-gateway',
  },
  {
    key: 'cl-5-5',
    label: '(vi) Content-Length: 5, 5 (identical list: a normal 5-byte body, or refused)',
    bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5, 5\r\n\r\nhello',
    expect: 'bad-gateway-or-hello',
    reusable: true,
  },
  {
    key: 'chunk-ext',
    label: '(vii) chunk size with an invalid extension (control character), then a fake response',
    bytes: `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5;\x01ext\r\nhello\r\n0\r\n\r\n${FAKE}`,
    expect: 'bad-gateway-or-cut',
  },
  {
    key: 'chunk-lf',
    label: '(vii) chunk size line ended by a bare LF, then a fake response',
    bytes: `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n${FAKE}`,
    expect: 'bad-gateway-or-cut',
  },
  {
    key: 'h10-chunked',
    label: '(viii) HTTP/1.0 response with Transfer-Encoding: chunked on a keep-alive connection',
    bytes: `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('hello')}0\r\n\r\n`,
    expect: 'bad-gateway-or-hello',
  },
];

interface Ctx {
  gw: Gw;
  up: RawServer;
  /** Upstream connection → sequence number of the trick it answered. */
  tricked: Map<number, number>;
}

async function setup(gw: Gw): Promise<Ctx> {
  const tricked = new Map<number, number>();
  const up = await startRawServer((req) => {
    const m = /^\/evil\/([a-z0-9-]+)\//.exec(req.target);
    const trick = m ? TRICKS.find((t) => t.key === m[1]) : undefined;
    if (trick !== undefined) {
      if (trick.reusable !== true) tricked.set(req.conn, req.seq);
      return { write: Buffer.from(trick.bytes, 'latin1'), then: trick.close ? 'close' : 'keep' };
    }
    return { write: ok(`you asked for ${req.target}`) };
  });
  try {
    const url = `http://127.0.0.1:${up.port}`;
    await must(gw, 'POST', '/services', { name: 'up', url, connect_timeout: 3000, read_timeout: 3000, write_timeout: 3000, retries: 0 });
    await must(gw, 'POST', '/services/up/routes', { name: 'evil', paths: ['/evil'], strip_path: false });
    await must(gw, 'POST', '/services/up/routes', { name: 'normal', paths: ['/normal'], strip_path: false });
    await converge(gw, '/normal/probe');
    return { gw, up, tricked };
  } catch (err) {
    await up.close();
    throw err;
  }
}

function request(method: 'GET' | 'POST', path: string, extra = ''): string {
  if (method === 'GET') return `GET ${path} HTTP/1.1\r\nHost: gw.example\r\nAccept: application/json\r\n${extra}\r\n`;
  const body = `body for ${path}`;
  return `POST ${path} HTTP/1.1\r\nHost: gw.example\r\nAccept: application/json\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
}

function assertNoFake(r: Response, who: string): void {
  assert.ok(!r.raw.toString('latin1').includes('pwned'), `${who} received the upstream's fake response: ${JSON.stringify(r.raw.toString('latin1'))}`);
}

function assertBadGateway(r: Response): void {
  assert.equal(r.status, 502, `ambiguous upstream framing must be refused: ${r.head}\n${r.body.toString('latin1')}`);
  let json: any;
  try {
    json = JSON.parse(r.body.toString());
  } catch {
    assert.fail(`502 body is not Kong's JSON error: ${JSON.stringify(r.body.toString())}`);
  }
  assert.equal(json.message, UPSTREAM_502);
  assert.equal(typeof json.request_id, 'string');
}

/** One normal request on `c`: exactly its own answer, and nothing after it. */
async function ownAnswer(c: RawClient, method: 'GET' | 'POST', path: string, who: string): Promise<void> {
  c.write(request(method, path));
  const r = await c.readResponse(6000);
  assertNoFake(r, who);
  assert.equal(r.status, 200, `${who}: ${r.head}\n${r.body.toString('latin1')}`);
  assert.equal(r.body.toString(), `you asked for ${path}`, `${who} got someone else's answer`);
  await c.assertNoExtraBytes(200, `${who}'s connection`);
}

for (const { label, start } of GATEWAYS) {
  describe(`response splitting — ${label}`, () => {
    let ctx: Ctx;
    before(async () => {
      const gw = await start();
      try {
        ctx = await setup(gw);
      } catch (err) {
        await gw.close();
        throw err;
      }
    });
    after(async () => {
      await ctx?.up.close();
      await closeBounded(ctx?.gw);
    });

    test('baseline: a normal answer, twice on one keep-alive connection', async () => {
      const c = await RawClient.connect(ctx.gw.proxyPort);
      try {
        await ownAnswer(c, 'GET', '/normal/base-1', 'client');
        await ownAnswer(c, 'POST', '/normal/base-2', 'client');
      } finally {
        c.destroy();
      }
    });

    for (const trick of TRICKS) {
      for (const method of ['GET', 'POST'] as const) {
        test(`${trick.label} — ${method} (${method === 'GET' ? 'fast lane' : 'node:http'}): never relayed; three clients then get only their own answers; the upstream connection is not reused`, async () => {
          const id = mark('rs');
          const from = ctx.up.requests.length;
          let a = await RawClient.connect(ctx.gw.proxyPort);
          const clients: RawClient[] = [a];
          try {
            a.write(request(method, `/evil/${trick.key}/${id}`));
            let first: Response | null = null;
            let cut: unknown = null;
            try {
              first = await a.readResponse(6000);
            } catch (err) {
              cut = err;
            }
            if (first === null) {
              assert.equal(trick.expect, 'bad-gateway-or-cut', `no complete answer: ${String(cut)}`);
              assert.ok(a.ended, `no complete answer and the connection is still open: ${String(cut)}`);
              assert.ok(!a.pending().toString('latin1').includes('pwned'), 'the fake response was relayed');
            } else {
              assertNoFake(first, 'the client');
              if (trick.expect === 'bad-gateway') assertBadGateway(first);
              else if (first.status !== 502) {
                assert.equal(trick.expect, 'bad-gateway-or-hello', `unexpected answer ${first.head}`);
                assert.equal(first.status, 200, first.head);
                assert.equal(first.body.toString('latin1'), 'hello');
              } else assertBadGateway(first);
              await a.assertNoExtraBytes(300, 'client connection');
            }

            // Client A again: on the same connection unless the gateway closed it (with Connection: close).
            if (a.ended) {
              if (first !== null) assert.equal(header(first, 'connection')?.toLowerCase(), 'close', 'the gateway closed the connection without saying so');
              a = await RawClient.connect(ctx.gw.proxyPort);
              clients.push(a);
            }
            await ownAnswer(a, 'GET', `/normal/A-${id}`, 'client A (same connection)');
            const b = await RawClient.connect(ctx.gw.proxyPort);
            clients.push(b);
            await ownAnswer(b, 'GET', `/normal/B-${id}`, 'client B (new connection, GET)');
            const c = await RawClient.connect(ctx.gw.proxyPort);
            clients.push(c);
            await ownAnswer(c, 'POST', `/normal/C-${id}`, 'client C (new connection, POST)');
            // A once more, after the others.
            await ownAnswer(a, 'POST', `/normal/A2-${id}`, 'client A (same connection, again)');

            await sleep(100);
            const seen = ctx.up.requests.slice(from);
            assert.deepEqual(
              seen.filter((q) => q.malformed !== null).map((q) => q.malformed),
              [],
              'the upstream received only well-framed requests',
            );
            const reused = seen.filter((q) => ctx.tricked.has(q.conn) && q.seq > ctx.tricked.get(q.conn)!).map((q) => `${q.method} ${q.target} on upstream connection ${q.conn}`);
            assert.deepEqual(reused, [], 'an upstream connection that sent an invalidly framed answer was used again');
            const normal = seen.filter((q) => q.target.startsWith('/normal/')).map((q) => q.target);
            assert.deepEqual(normal, [`/normal/A-${id}`, `/normal/B-${id}`, `/normal/C-${id}`, `/normal/A2-${id}`], 'each normal request reached the upstream exactly once');
          } finally {
            for (const cl of clients) cl.destroy();
          }
        });
      }
    }
  });
}
