/** The smaller plugins configured from a DB-less kong.yml, as a Kong user would write it. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';

let gw: TestGateway;
let echo: Echo;

before(async () => {
  echo = await startEcho();
  gw = await startGateway({
    logLevel: 'warn',
    declarative: `
_format_version: "3.0"
services:
- name: api
  url: ${echo.url}
  routes:
  - name: api
    paths: [/api]
  plugins:
  - name: rate-limiting
    config: { minute: 100, policy: local }
  - name: request-transformer
    config:
      add: { headers: ["x-via-gateway:yes"] }
plugins:
- name: correlation-id
  config: { echo_downstream: true }
- name: cors
  config: { origins: ["https://app.example"] }
`,
  });
});

after(async () => {
  await gw.close();
  await echo.close();
});

test('plugins from kong.yml run together on one request', async () => {
  const res = await fetch(`${gw.proxyUrl}/api/x`, { headers: { origin: 'https://app.example' } });
  assert.equal(res.status, 200);
  const reply = (await res.json()) as EchoReply;
  const id = res.headers.get('kong-request-id');
  assert.match(id ?? '', /#\d+$/);
  assert.equal(reply.headers['kong-request-id'], id);
  assert.equal(reply.headers['x-via-gateway'], 'yes');
  assert.equal(res.headers.get('x-ratelimit-limit-minute'), '100');
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
});
