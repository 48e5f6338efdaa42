/**
 * Differential fuzz of our two HTTP/1.1 parsers against llhttp (node:http's
 * parser): the fast lane's request-head reader and the upstream client's
 * ResponseParser (see test/fuzz/compare.ts for the properties). First the
 * harness itself is checked on known-good and known-bad messages, then a
 * bounded run: FUZZ_SECONDS (default 8) or FUZZ_MESSAGES (default 300000)
 * per parser, whichever first; FUZZ_SEED repeats a run (the seed is printed).
 * Fails on any difference that no KNOWN_BUGS entry (known-bugs.ts) explains,
 * and on a KNOWN_BUGS entry whose repro no longer shows its difference.
 * `npm run fuzz` runs the same for a million messages per parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LENIENT_FLAGS, runLlhttp } from './llhttp.ts';
import { compareAcceptedRequest, compareRequestCase, compareResponseCase, laneRead, nodeHeaders, runOurs, type Verdict } from './compare.ts';
import { KNOWN_BUGS, knownBug } from './known-bugs.ts';
import { formatTally, generate, minimise, runSide, sum } from './harness.ts';
import { seedOf } from './prng.ts';
import type { RequestCase, ResponseCase } from './generators.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const req = (s: string, cuts: number[] = []): RequestCase => ({ bytes: b(s), cuts, kind: 'fixed' });
const res = (s: string, opts: { head?: boolean; cuts?: number[]; start?: number } = {}): ResponseCase => ({
  bytes: b(s),
  cuts: opts.cuts ?? [],
  kind: 'fixed',
  head: opts.head ?? false,
  start: opts.start ?? 0,
});
const results = (vs: Verdict[]): string[] => vs.map((v) => v.result);

// ------------------------------------------------------------------ the llhttp wrapper

test('llhttp is driven strictly, as node:http drives it by default', () => {
  assert.equal(LENIENT_FLAGS, 0);
  // Lenient-only inputs are refused: bare LF line ends, a space before the colon, TE+CL in a request.
  for (const bad of ['GET / HTTP/1.1\nHost: a\n\n', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n']) {
    const r = runLlhttp('request', b(bad), [], { maxHeaderSize: 16384 });
    assert.ok(r.error !== null, JSON.stringify(bad));
  }
});

test('llhttp wrapper: request fields, body, pipelining and where each message ends, however split', () => {
  const text = 'POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /n HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n';
  for (const cuts of [[], [1, 20, 49, 50], [...Array(text.length).keys()]]) {
    const r = runLlhttp('request', b(text), cuts, { maxHeaderSize: 16384 });
    assert.equal(r.error, null);
    assert.equal(r.messages.length, 2);
    const [m1, m2] = r.messages as [NonNullable<(typeof r.messages)[0]>, NonNullable<(typeof r.messages)[0]>];
    assert.equal(m1.method, 'POST');
    assert.equal(m1.url, '/a?b');
    assert.deepEqual(m1.rawHeaders, ['Host', 'x', 'Content-Length', '3']);
    assert.equal(Buffer.concat(m1.body).toString(), 'abc');
    assert.equal(m1.shouldKeepAlive, true);
    assert.equal(m2.method, 'GET');
    assert.equal(m2.shouldKeepAlive, false);
    if (cuts.length === text.length) {
      assert.deepEqual(m1.completeIn, [52, 53]); // the last body byte
      assert.deepEqual(m2.completeIn, [text.length - 1, text.length]);
    }
  }
  // The keep-alive probe after a message that ends exactly at a read boundary.
  const close = runLlhttp('request', b('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), [], { maxHeaderSize: 16384, probeAfter: () => true });
  assert.equal(close.keepAliveAfter, false);
  const keep = runLlhttp('request', b('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), [], { maxHeaderSize: 16384, probeAfter: () => true });
  assert.equal(keep.keepAliveAfter, true);
  // Headers as IncomingMessage builds them.
  assert.deepEqual({ ...nodeHeaders(['Host', 'a', 'Host', 'b', 'Cookie', 'x', 'cookie', 'y', 'Set-Cookie', '1', 'X', 'p', 'x', 'q']) }, {
    host: 'a',
    cookie: 'x; y',
    'set-cookie': ['1'],
    x: 'p, q',
  });
});

test('llhttp wrapper: responses — chunked, close-delimited, HEAD, 1xx, errors', () => {
  const chunked = runLlhttp('response', b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 No\r\n\r\n'), [], { maxHeaderSize: 65536 });
  assert.equal(Buffer.concat(chunked.messages[0]!.body).toString(), 'abc');
  assert.equal(chunked.messages[1]!.status, 204);
  const eof = runLlhttp('response', b('HTTP/1.1 200 OK\r\n\r\nrest'), [], { maxHeaderSize: 65536 });
  assert.equal(eof.messages[0]!.atEof, true);
  assert.equal(Buffer.concat(eof.messages[0]!.body).toString(), 'rest');
  const head = runLlhttp('response', b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'), [], { maxHeaderSize: 65536, headRequest: true });
  assert.deepEqual(head.messages[0]!.completeIn, [0, 38]);
  const interim = runLlhttp('response', b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'), [], { maxHeaderSize: 65536 });
  assert.deepEqual(interim.messages.map((m) => m.status), [100, 200]);
  const tecl = runLlhttp('response', b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n'), [], { maxHeaderSize: 65536 });
  assert.ok(tecl.error !== null);
  const cut = runLlhttp('response', b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'), [], { maxHeaderSize: 65536 });
  assert.equal(cut.error?.atEof, true);
});

// ------------------------------------------------------------------ the comparators

test('request comparator: agreement, hand-over, and a framing disagreement are told apart', () => {
  assert.deepEqual(results(compareRequestCase(req('GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', [7, 30]))), ['same', 'same']);
  assert.deepEqual(results(compareRequestCase(req('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello'))), ['ours-stricter']);
  assert.deepEqual(results(compareRequestCase(req('GET / HTTP/1.1\r\nHost: a\r\n'))), ['same']); // lane waits
  // A lane that read it otherwise would be caught: a wrong end, url, header or keep-alive decision.
  const text = b('GET /x HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const read = laneRead(text, 0);
  assert.equal(read.kind, 'accept');
  if (read.kind !== 'accept') return;
  assert.equal(compareAcceptedRequest(text, 0, read, []).result, 'same');
  for (const wrong of [{ end: read.end + 2 }, { end: read.end - 1 }, { url: '/y' }, { close: true }, { headers: { ...read.headers, x: '2' } }, { method: 'HEAD' }]) {
    const v = compareAcceptedRequest(text, 0, { ...read, ...wrong }, []);
    assert.equal(v.result, 'different', JSON.stringify(wrong));
  }
  // llhttp seeing a body where the lane sees none.
  const body = b('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab');
  assert.equal(compareAcceptedRequest(body, 0, { ...read, headers: { host: 'a', 'content-length': '2' }, rawHeaders: ['Host', 'a', 'Content-Length', '2'], url: '/', end: 45 }, []).result, 'different');
});

test('response comparator: same, ours-stricter and different', () => {
  const same = [
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n',
    'HTTP/1.0 200 OK\r\n\r\nuntil close',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
    'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab',
    'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n',
  ];
  for (const s of same) for (const cuts of [[], [1, 5, 20, 40]]) assert.equal(compareResponseCase(res(s, { cuts })).result, 'same', JSON.stringify(s));
  assert.equal(compareResponseCase(res('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', { head: true })).result, 'same');
  assert.equal(compareResponseCase(res('junkHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx', { start: 4, cuts: [6] })).result, 'same');
  assert.equal(compareResponseCase(res('HTTP/1.1 101 Switching Protocols\r\n\r\n')).result, 'ours-stricter');
  assert.equal(compareResponseCase(res('HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n')).result, 'ours-stricter');
  assert.equal(compareResponseCase(res('HTTP/1.1 304 Not Modified\r\nContent-Length: 9007199254740993\r\n\r\n')).result, 'ours-stricter');
  // Both refuse: a bare CR in a field value.
  assert.equal(compareResponseCase(res('HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n')).result, 'same');
  // Our parser's own results, as the comparator reads them.
  const ours = runOurs(res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nnext', { cuts: [10, 50] }));
  assert.deepEqual([ours.outcome, ours.body.toString(), ours.end, ours.keepAlive], ['complete', 'ab', 59, true]);
});

test('KNOWN_BUGS: each repro still shows its difference (delete an entry once fixed)', () => {
  for (const bug of KNOWN_BUGS) {
    const text = bug.repro;
    const vs = bug.side === 'request' ? compareRequestCase(req(text)) : [compareResponseCase(res(text, { head: bug.head === true }))];
    const diffs = vs.filter((v): v is Extract<Verdict, { result: 'different' }> => v.result === 'different');
    assert.ok(diffs.length > 0, `KNOWN_BUGS ${bug.id} no longer reproduces (fixed? remove it from test/fuzz/known-bugs.ts): ${JSON.stringify(vs)}`);
    assert.equal(knownBug(bug.side, diffs[0]!, text)?.id, bug.id, `${bug.id}: its repro is matched by another entry`);
  }
});

test('generation is reproducible from the seed, and the minimiser keeps the difference', () => {
  for (const side of ['request', 'response'] as const) {
    for (const i of [0, 7, 12345]) assert.ok(generate(side, 42, i).bytes.equals(generate(side, 42, i).bytes));
  }
  assert.notDeepEqual(generate('request', 1, 0).bytes, generate('request', 2, 0).bytes);
  // minimise() shrinks while the same unknown difference remains; a case without one stays as it is.
  const plain = req('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(minimise('request', plain, 'keep-alive').bytes.length, plain.bytes.length);
});

// ------------------------------------------------------------------ the bounded run

const seed = seedOf(process.env.FUZZ_SEED);
const seconds = Number(process.env.FUZZ_SECONDS ?? 8);
const messages = Number(process.env.FUZZ_MESSAGES ?? 300_000);

for (const side of ['request', 'response'] as const) {
  test(`differential fuzz, ${side} side: no framing difference from llhttp beyond KNOWN_BUGS (seed ${seed})`, (t) => {
    const tally = runSide(side, { seed, messages, seconds, maxRepros: 10 });
    const report = formatTally(tally);
    t.diagnostic(report.replaceAll('\n', ' | '));
    if (process.env.FUZZ_VERBOSE) console.log(report);
    assert.ok(tally.messages > 1000, `only ${tally.messages} messages compared`);
    assert.equal(sum(tally.different), 0, `DIFFERENT from llhttp (repeat with FUZZ_SEED=${seed}):\n${report}`);
  });
}
