/** key-auth configured from a DB-less kong.yml: consumers, their keys and the plugin, as a Kong user writes them. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';

let gw: TestGateway;
let echo: Echo;

before(async () => {
  echo = await startEcho();
  gw = await startGateway({
    database: 'off',
    logLevel: 'warn',
    declarative: `
_format_version: "3.0"
services:
- name: example_service
  url: ${echo.url}
  routes:
  - name: example_route
    paths: [/mock]
  plugins:
  - name: key-auth
consumers:
- username: luka
  keyauth_credentials:
  - key: top-secret-key
- username: ana
keyauth_credentials:
- key: ana-key
  consumer: ana
`,
  });
});

after(async () => {
  await gw.close();
  await echo.close();
});

test('keys declared nested and at the top level both authenticate their consumer', async () => {
  for (const [key, username] of [['top-secret-key', 'luka'], ['ana-key', 'ana']] as const) {
    const res = await fetch(`${gw.proxyUrl}/mock/anything`, { headers: { apikey: key } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as EchoReply).headers['x-consumer-username'], username);
  }
  const wrong = await fetch(`${gw.proxyUrl}/mock/anything`, { headers: { apikey: 'wrong' } });
  assert.equal(wrong.status, 401);
  assert.equal(((await wrong.json()) as { message: string }).message, 'Invalid authentication credentials');
});

test('the Admin API lists the declared keys and refuses to create one in DB-less mode', async () => {
  const list = await gw.admin('GET', '/consumers/luka/key-auth');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.data.map((c: { key: string }) => c.key), ['top-secret-key']);
  const create = await gw.admin('POST', '/consumers/luka/key-auth', { key: 'new' });
  assert.equal(create.status, 405);
  assert.equal(create.body.message, "cannot create 'keyauth_credentials' entities when not using a database");
});
