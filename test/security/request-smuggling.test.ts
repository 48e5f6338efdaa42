/**
 * Request smuggling through the gateway (issue 9, items 1, 3, 4, 5, 6).
 *
 * An attacker who can make the upstream see a request the gateway never
 * routed gets everything the gateway was meant to enforce for free: a second
 * request hidden after a refused WebSocket handshake reaches a key-auth
 * protected route with no credential, no X-Forwarded-For and no request id;
 * a userinfo in an absolute-form target or a malformed/duplicated Host makes
 * the gateway route by a host the client did not name (and tell the upstream
 * so in X-Forwarded-Host); an HTTP/1.0 request with Transfer-Encoding leaves
 * the connection open for a request the peer framed differently; and a plugin
 * that sets Content-Length or Transfer-Encoding desynchronises a pooled
 * upstream connection so one client's body becomes another client's request.
 *
 * Black box: raw sockets to the proxy of a real gateway (`portcullis start
 * --workers 2`, and the in-process single-worker gateway), configured through
 * the Admin API, in front of a RECORDING upstream that reads requests
 * strictly and records every one — the assertion is always about what the
 * upstream saw. Each attack is sent on a fresh connection and pipelined after
 * a normal request (a bodyless GET the fast lane serves, and a POST with a
 * body that node:http serves), as a GET and as a POST with a body.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/wait.ts';
import {
  GATEWAYS,
  RawClient,
  closeBounded,
  converge,
  field,
  header,
  mark,
  must,
  ok,
  startRawServer,
  type Gw,
  type RawServer,
  type SeenRequest,
} from './harness.ts';

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const WS_ACCEPT = createHash('sha1').update(WS_KEY + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');

type Lead = 'fresh' | 'after GET (fast lane)' | 'after POST (node:http)';
const LEADS: readonly Lead[] = ['fresh', 'after GET (fast lane)', 'after POST (node:http)'];

/** The normal request an attack is pipelined after (empty for a fresh connection). */
function leadBytes(lead: Lead, id: string): string {
  if (lead === 'after GET (fast lane)') return `GET /public/warm-${id} HTTP/1.1\r\nHost: probe.example\r\n\r\n`;
  if (lead === 'after POST (node:http)') return `POST /public/warm-${id} HTTP/1.1\r\nHost: probe.example\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nwarm`;
  return '';
}

/** Read and check the lead's answer (a normal 200 for its own path). */
async function readLead(c: RawClient, lead: Lead, id: string): Promise<void> {
  if (lead === 'fresh') return;
  const r = await c.readResponse();
  assert.equal(r.status, 200, `the normal request before the attack: ${r.head}`);
  assert.equal(r.body.toString(), `path=/public/warm-${id}`);
}

interface Ctx {
  gw: Gw;
  rec: RawServer;
  tunnel: Map<number, Buffer>;
  leftovers: Array<{ conn: number; data: string }>;
  /** request-transformer cases: Admin API status of the plugin creation. */
  xform: Map<number, { status: number; body: any }>;
}

/** Requests the upstream saw whose raw head mentions `needle`. */
function seen(ctx: Ctx, needle: string): SeenRequest[] {
  return ctx.rec.requests.filter((r) => r.rawHead.includes(needle));
}

/** The upstream must never see anything mentioning `needle` (requests, malformed bytes, leftovers, tunnels). */
async function assertUpstreamNeverSaw(ctx: Ctx, needle: string, what: string): Promise<void> {
  await sleep(300); // let anything in flight land
  const reqs = seen(ctx, needle).map((r) => r.rawHead.split('\r\n')[0]);
  assert.deepEqual(reqs, [], `${what}: the upstream received ${JSON.stringify(reqs)}`);
  const left = ctx.leftovers.filter((l) => l.data.includes(needle));
  assert.deepEqual(left, [], `${what}: unparsed bytes reached the upstream`);
  for (const [conn, data] of ctx.tunnel) {
    assert.ok(!data.toString('latin1').includes(needle), `${what}: reached the upstream as tunnel data on connection ${conn}`);
  }
}

/** request-transformer configurations that try to set the upstream request's framing. */
const XFORM: ReadonlyArray<{ config: Record<string, unknown>; client: 'length' | 'chunked'; label: string }> = [
  { label: 'replace content-length:5, 5', config: { replace: { headers: ['content-length:5, 5'] } }, client: 'length' },
  { label: 'replace content-length:2 (shorter than the body)', config: { replace: { headers: ['content-length:2'] } }, client: 'length' },
  { label: 'add transfer-encoding:chunked', config: { add: { headers: ['transfer-encoding:chunked'] } }, client: 'length' },
  { label: 'append content-length:3', config: { append: { headers: ['content-length:3'] } }, client: 'length' },
  { label: 'add content-length:1 (client body chunked)', config: { add: { headers: ['content-length:1'] } }, client: 'chunked' },
  { label: 'append transfer-encoding:chunked (client body chunked)', config: { append: { headers: ['transfer-encoding:chunked'] } }, client: 'chunked' },
  { label: 'replace transfer-encoding:identity (client body chunked)', config: { replace: { headers: ['transfer-encoding:identity'] } }, client: 'chunked' },
];

async function setup(gw: Gw): Promise<Ctx> {
  const tunnel = new Map<number, Buffer>();
  const leftovers: Ctx['leftovers'] = [];
  const rec = await startRawServer(
    (req) => {
      const path = req.target;
      if (field(req, 'upgrade') !== undefined) {
        if (path.includes('ws-accept')) {
          return { write: `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${WS_ACCEPT}\r\n\r\n`, then: 'tunnel' };
        }
        // A plain HTTP/1.1 server that does not do WebSocket: answers the request as any other and keeps reading.
        if (path.includes('ws-refuse-400')) return { write: 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nno upgrade' };
        return { write: ok('plain answer, not upgraded') };
      }
      return { write: ok(`path=${path}`) };
    },
    {
      onTunnel: (conn, data) => tunnel.set(conn, Buffer.concat([tunnel.get(conn) ?? Buffer.alloc(0), data])),
      onLeftover: (conn, data) => leftovers.push({ conn, data: data.toString('latin1') }),
    },
  );
  try {
    return await configure(gw, rec, tunnel, leftovers);
  } catch (err) {
    await rec.close();
    throw err;
  }
}

async function configure(gw: Gw, rec: RawServer, tunnel: Map<number, Buffer>, leftovers: Ctx['leftovers']): Promise<Ctx> {
  const url = `http://127.0.0.1:${rec.port}`;
  const timeouts = { connect_timeout: 3000, read_timeout: 3000, write_timeout: 3000, retries: 0 };
  await must(gw, 'POST', '/services', { name: 'rec', url, ...timeouts });
  await must(gw, 'POST', '/services/rec/routes', { name: 'public', paths: ['/public'], strip_path: false });
  await must(gw, 'POST', '/services/rec/routes', { name: 'admin', paths: ['/admin'], strip_path: false });
  await must(gw, 'POST', '/routes/admin/plugins', { name: 'key-auth' });
  await must(gw, 'POST', '/services', { name: 'good', url: `${url}/good-svc`, ...timeouts });
  await must(gw, 'POST', '/services/good/routes', { name: 'good', hosts: ['good.example'], paths: ['/path'] });
  await must(gw, 'POST', '/services', { name: 'evil', url: `${url}/evil-svc`, ...timeouts });
  await must(gw, 'POST', '/services/evil/routes', { name: 'evil', hosts: ['evil.example'], paths: ['/path'] });
  const xform = new Map<number, { status: number; body: any }>();
  for (let i = 0; i < XFORM.length; i++) {
    await must(gw, 'POST', '/services/rec/routes', { name: `xform${i}`, paths: [`/xform${i}`], strip_path: false });
    xform.set(i, await gw.admin('POST', `/routes/xform${i}/plugins`, { name: 'request-transformer', config: XFORM[i]!.config }));
  }
  await must(gw, 'POST', '/services/rec/routes', { name: 'sentinel', paths: ['/zz-sentinel'], strip_path: false });
  await converge(gw, '/zz-sentinel');
  await converge(gw, '/admin/x', 401);
  return { gw, rec, tunnel, leftovers, xform };
}

function wsHandshake(path: string, method = 'GET'): string {
  return `${method} ${path} HTTP/1.1\r\nHost: probe.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

for (const { label, start } of GATEWAYS) {
  describe(`request smuggling — ${label}`, () => {
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
      await ctx?.rec.close();
      await closeBounded(ctx?.gw);
    });

    test('baseline: /admin is protected by key-auth, /public is served', async () => {
      const c = await RawClient.connect(ctx.gw.proxyPort);
      c.write('GET /admin/delete-all HTTP/1.1\r\nHost: probe.example\r\n\r\nGET /public/base HTTP/1.1\r\nHost: probe.example\r\n\r\n');
      assert.equal((await c.readResponse()).status, 401);
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'path=/public/base');
      c.destroy();
    });

    // ---------------------------------------------------------------- 1. WebSocket handshake smuggling
    for (const refusal of ['ws-refuse-200', 'ws-refuse-400'] as const) {
      for (const lead of LEADS) {
        test(`1. WebSocket handshake refused by the upstream (${refusal.slice(-3)}) with a request in the same write, ${lead}: the hidden request never reaches the upstream; refusal, then close`, async () => {
          const id = mark('ws');
          const c = await RawClient.connect(ctx.gw.proxyPort);
          c.write(leadBytes(lead, id) + wsHandshake(`/public/${refusal}-${id}`) + `GET /admin/delete-all?smuggled=${id} HTTP/1.1\r\nHost: probe.example\r\n\r\n`);
          try {
            await readLead(c, lead, id);
            const r = await c.readResponse();
            assert.equal(r.status, refusal === 'ws-refuse-400' ? 400 : 200, `the upstream's refusal is relayed: ${r.head}`);
            await c.expectClose();
            await assertUpstreamNeverSaw(ctx, `smuggled=${id}`, 'the request after a refused handshake');
            assert.equal(seen(ctx, `${refusal}-${id}`).length, 1, 'the handshake itself reached the upstream once');
          } finally {
            c.destroy();
          }
        });
      }
    }

    test('1. WebSocket handshake with a request in the same write, POST handshake with a body (node:http): the hidden request never reaches the upstream', async () => {
      const id = mark('wsp');
      const c = await RawClient.connect(ctx.gw.proxyPort);
      const hs = wsHandshake(`/public/ws-refuse-200-${id}`, 'POST').replace('\r\n\r\n', '\r\nContent-Length: 0\r\n\r\n');
      c.write(hs + `GET /admin/delete-all?smuggled=${id} HTTP/1.1\r\nHost: probe.example\r\n\r\n`);
      try {
        const r = await c.readResponse();
        assert.ok(r.status === 200 || r.status >= 400, r.head);
        // Whatever the answer, nothing more: the second request is not served by the gateway (it was not routed) nor by the upstream.
        await c.expectClose().catch(async (err) => {
          // A gateway that keeps the connection and routes the second request itself (401 from key-auth) is acceptable.
          const second = await c.readResponse(2000);
          if (second.status !== 401) throw err;
        });
        await assertUpstreamNeverSaw(ctx, `smuggled=${id}`, 'the request after a POST handshake');
      } finally {
        c.destroy();
      }
    });

    for (const lead of LEADS) {
      test(`1. WebSocket handshake the upstream accepts (101), ${lead}: the bytes after the handshake reach the upstream as tunnel data, not as a request`, async () => {
        const id = mark('wsa');
        const c = await RawClient.connect(ctx.gw.proxyPort);
        const after = `GET /admin/delete-all?smuggled=${id} HTTP/1.1\r\nHost: probe.example\r\n\r\n`;
        c.write(leadBytes(lead, id) + wsHandshake(`/public/ws-accept-${id}`) + after);
        try {
          await readLead(c, lead, id);
          const r = await c.readResponse(5000, true);
          assert.equal(r.status, 101, r.head);
          assert.equal(header(r, 'sec-websocket-accept'), WS_ACCEPT);
          const hs = seen(ctx, `ws-accept-${id}`);
          assert.equal(hs.length, 1);
          const conn = hs[0]!.conn;
          await waitFor('the tunnel data', () => (ctx.tunnel.get(conn)?.length ?? 0) >= after.length, 3000).catch(() => undefined);
          assert.equal(ctx.tunnel.get(conn)?.toString('latin1'), after, 'tunnel data after 101, byte for byte');
          assert.deepEqual(
            ctx.rec.requests.filter((q) => q.target.includes(`smuggled=${id}`)).map((q) => q.target),
            [],
            'not parsed as a request by the upstream',
          );
          assert.equal(c.pending().length, 0, 'nothing after the 101 from the gateway itself');
        } finally {
          c.destroy();
        }
      });
    }

    // ---------------------------------------------------------------- 2. absolute-form with userinfo
    const ABSOLUTE = ['http://evil.example:80@good.example', 'http://evil.example@good.example', 'http://user:pw@good.example'];
    for (const authority of ABSOLUTE) {
      for (const method of ['GET', 'POST'] as const) {
        for (const lead of LEADS) {
          test(`2. absolute-form ${method} ${authority}/path (userinfo), ${lead}: 400, the upstream sees nothing, no X-Forwarded-Host: evil`, async () => {
            const id = mark('abs');
            const body = method === 'POST' ? 'Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello' : '\r\n';
            const c = await RawClient.connect(ctx.gw.proxyPort);
            c.write(leadBytes(lead, id) + `${method} ${authority}/path?t=${id} HTTP/1.1\r\nHost: good.example\r\n${body}`);
            try {
              await readLead(c, lead, id);
              const r = await c.readResponse();
              assert.equal(r.status, 400, `userinfo in the request target: ${r.head}\n${r.body}`);
              await c.assertNoExtraBytes();
              await assertUpstreamNeverSaw(ctx, `t=${id}`, 'a request with userinfo in its target');
              const evil = ctx.rec.requests.filter((q) => /evil/i.test(field(q, 'x-forwarded-host') ?? '') || q.target.startsWith('/evil-svc'));
              assert.deepEqual(evil.map((q) => q.rawHead), [], 'the evil.example route was never used');
            } finally {
              c.destroy();
            }
          });
        }
      }
    }

    test('2. baseline: absolute-form without userinfo is routed by its authority (good.example)', async () => {
      const id = mark('absok');
      const c = await RawClient.connect(ctx.gw.proxyPort);
      c.write(`GET http://good.example/path?t=${id} HTTP/1.1\r\nHost: good.example\r\n\r\n`);
      const r = await c.readResponse();
      c.destroy();
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `path=/good-svc?t=${id}`);
    });

    // ---------------------------------------------------------------- 3. HTTP/1.0 with Transfer-Encoding
    for (const lead of LEADS) {
      test(`3. HTTP/1.0 POST with Transfer-Encoding: chunked and keep-alive, then a pipelined request, ${lead}: 400, close, nothing forwarded`, async () => {
        const id = mark('h10');
        const c = await RawClient.connect(ctx.gw.proxyPort);
        c.write(
          leadBytes(lead, id) +
            `POST /public/h10te-${id} HTTP/1.0\r\nHost: probe.example\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n` +
            `GET /public/after-${id} HTTP/1.1\r\nHost: probe.example\r\n\r\n`,
        );
        try {
          await readLead(c, lead, id);
          const r = await c.readResponse();
          assert.equal(r.status, 400, `HTTP/1.0 with Transfer-Encoding (RFC 9112 §6.1): ${r.head}`);
          await c.expectClose();
          await assertUpstreamNeverSaw(ctx, `after-${id}`, 'the request pipelined after HTTP/1.0 + Transfer-Encoding');
          await assertUpstreamNeverSaw(ctx, `h10te-${id}`, 'the HTTP/1.0 request with Transfer-Encoding');
        } finally {
          c.destroy();
        }
      });
    }

    // ---------------------------------------------------------------- 4. Host validation
    const HOSTS: ReadonlyArray<{ label: string; fields: string }> = [
      { label: 'userinfo (user@good.example)', fields: 'Host: user@good.example\r\n' },
      { label: 'a space (good .example)', fields: 'Host: good .example\r\n' },
      { label: 'a tab (good\\t.example)', fields: 'Host: good\t.example\r\n' },
      { label: 'two Host fields, same value', fields: 'Host: good.example\r\nHost: good.example\r\n' },
      { label: 'two Host fields, different values', fields: 'Host: good.example\r\nHost: evil.example\r\n' },
    ];
    for (const h of HOSTS) {
      for (const method of ['GET', 'POST'] as const) {
        for (const lead of LEADS) {
          test(`4. Host with ${h.label}, ${method}, ${lead}: 400, the upstream sees nothing`, async () => {
            const id = mark('host');
            const body = method === 'POST' ? 'Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello' : '\r\n';
            const c = await RawClient.connect(ctx.gw.proxyPort);
            c.write(leadBytes(lead, id) + `${method} /public/host-${id} HTTP/1.1\r\n${h.fields}${body}`);
            try {
              await readLead(c, lead, id);
              const r = await c.readResponse();
              assert.equal(r.status, 400, `invalid Host (RFC 9112 §3.2): ${r.head}`);
              await c.assertNoExtraBytes();
              await assertUpstreamNeverSaw(ctx, `host-${id}`, 'a request with an invalid Host');
            } finally {
              c.destroy();
            }
          });
        }
      }
    }

    // ---------------------------------------------------------------- 5. plugin-set framing
    for (let i = 0; i < XFORM.length; i++) {
      const x = XFORM[i]!;
      test(`5. request-transformer ${x.label}: refused by the Admin API (schema violation) or ignored; six clients in sequence each reach the upstream as exactly one well-framed request`, async () => {
        const created = ctx.xform.get(i)!;
        if (created.status !== 201) {
          assert.equal(created.status, 400, JSON.stringify(created.body));
          assert.equal(created.body?.name, 'schema violation', JSON.stringify(created.body));
          assert.match(JSON.stringify(created.body?.fields ?? {}), /headers/, 'the error names the field');
        }
        const id = mark('xf');
        const from = ctx.rec.requests.length;
        const leftFrom = ctx.leftovers.length;
        const expected: Array<{ target: string; body: string }> = [];
        for (let k = 0; k < 6; k++) {
          const target = `/xform${i}/c${k}-${id}`;
          const c = await RawClient.connect(ctx.gw.proxyPort);
          try {
            if (k % 2 === 1) {
              // A bodyless GET (the fast lane's request) between the bodies.
              c.write(`GET ${target} HTTP/1.1\r\nHost: probe.example\r\n\r\n`);
              expected.push({ target, body: '' });
            } else {
              const body = `body-of-client-${k}-${id}`;
              if (x.client === 'chunked') {
                const half = Math.floor(body.length / 2);
                const a = body.slice(0, half);
                const b = body.slice(half);
                c.write(
                  `POST ${target} HTTP/1.1\r\nHost: probe.example\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n` +
                    `${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`,
                );
              } else {
                c.write(`POST ${target} HTTP/1.1\r\nHost: probe.example\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
              }
              expected.push({ target, body });
            }
            const r = await c.readResponse(8000);
            assert.equal(r.status, 200, `client ${k}: ${r.head}\n${r.body}`);
            assert.equal(r.body.toString(), `path=${target}`, `client ${k} got its own answer`);
            await c.assertNoExtraBytes(100);
          } finally {
            c.destroy();
          }
        }
        await sleep(200);
        // Only this test's bytes (an earlier test's upstream connection may close, and report, late).
        const got = ctx.rec.requests.slice(from).filter((q) => q.rawHead.includes(id) || q.body.includes(id));
        const bad = got.filter((q) => q.malformed !== null).map((q) => `${q.malformed}\n${q.rawHead}`);
        assert.deepEqual(bad, [], 'every request the upstream received was well-framed');
        assert.deepEqual(
          ctx.leftovers.slice(leftFrom).filter((l) => l.data.includes(id)).map((l) => l.data),
          [],
          'no partial request left on an upstream connection',
        );
        assert.deepEqual(
          got.map((q) => ({ target: q.target, body: q.body.toString('latin1') })),
          expected,
          'exactly one request per client, each with its own body',
        );
        for (const q of got) {
          const cl = q.fields.get('content-length');
          const te = q.fields.get('transfer-encoding');
          assert.ok(cl === undefined || te === undefined, 'never both framing headers');
          if (cl !== undefined) assert.equal(Number(cl[0]), q.body.length);
        }
      });
    }
  });
}
