/** correlation-id through the whole gateway, with a real echo upstream. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EchoReply } from '../../helpers/echo.ts';
import { usePluginRoutes } from '../../helpers/plugin-routes.ts';

const fx = usePluginRoutes('correlation-id', 'cid');
const route = (config: Record<string, unknown>): Promise<string> => fx.route(config);

function header(reply: EchoReply, name: string): string | undefined {
  const v = reply.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

test('defaults: the upstream receives Kong-Request-ID as <worker uuid>#<counter>, not echoed to the client', async () => {
  const r = await fx.gw.admin('POST', '/schemas/plugins/validate', { name: 'correlation-id', config: {} });
  assert.equal(r.status, 200);
  const url = await route({});
  const first = await fetch(url);
  assert.equal(first.headers.get('kong-request-id'), null);
  const a = header((await first.json()) as EchoReply, 'kong-request-id')!;
  const b = header((await (await fetch(url)).json()) as EchoReply, 'kong-request-id')!;
  const ma = /^([0-9a-f-]{36})#(\d+)$/.exec(a);
  const mb = /^([0-9a-f-]{36})#(\d+)$/.exec(b);
  assert.ok(ma && mb, `${a} / ${b}`);
  assert.equal(ma[1], mb[1]);
  assert.equal(Number(mb[2]), Number(ma[2]) + 1);
});

test('a value sent by the client is passed on untouched and echoed back', async () => {
  const url = await route({ header_name: 'X-Correlation-Id', generator: 'uuid', echo_downstream: true });
  const res = await fetch(url, { headers: { 'x-correlation-id': 'abc-123' } });
  assert.equal(res.headers.get('x-correlation-id'), 'abc-123');
  assert.equal(header((await res.json()) as EchoReply, 'x-correlation-id'), 'abc-123');
});

test('uuid generator with echo_downstream: the client sees the same UUID the upstream got', async () => {
  const url = await route({ generator: 'uuid', echo_downstream: true });
  const res = await fetch(url);
  const sent = res.headers.get('kong-request-id');
  assert.match(sent ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(header((await res.json()) as EchoReply, 'kong-request-id'), sent);
});

test('tracker generator: address-port-pid-connection-requests-time', async () => {
  const url = await route({ generator: 'tracker', echo_downstream: true });
  const res = await fetch(url);
  await res.text();
  assert.match(res.headers.get('kong-request-id') ?? '', /^127\.0\.0\.1-\d+-\d+-\d+-\d+-\d+\.\d{3}$/);
});

test('an unknown generator is rejected', async () => {
  const r = await fx.gw.admin('POST', '/schemas/plugins/validate', { name: 'correlation-id', config: { generator: 'sequence' } });
  assert.equal(r.status, 400);
  assert.ok(r.body.fields.config.generator);
});
