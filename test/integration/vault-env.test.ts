/**
 * `{vault://env/…}` references (issue 15): resolved when a configuration is
 * built, so the proxy uses the secret, while the Admin API, the export and
 * the logs only ever show the reference; a missing variable is a clear error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startEcho, type Echo } from '../helpers/echo.ts';

const API_KEY = 'vault-resolved-key-7f3a9c';
const CLIENT_SECRET = 'vault-resolved-client-secret-51d2';

let gw: TestGateway;
let echo: Echo;

before(async () => {
  // Kong's env vault: {vault://env/portcullis-test-api-key} → PORTCULLIS_TEST_API_KEY
  process.env.PORTCULLIS_TEST_API_KEY = API_KEY;
  process.env.PORTCULLIS_TEST_OIDC = JSON.stringify({ client_secret: CLIENT_SECRET });
  echo = await startEcho();
  gw = await startGateway({ logLevel: 'info' });
  const ok = (r: { status: number; body: unknown }) => assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  ok(await gw.admin('POST', '/services', { name: 'svc', url: echo.url }));
  ok(await gw.admin('POST', '/services/svc/routes', { name: 'keyed', paths: ['/keyed'] }));
  ok(await gw.admin('POST', '/routes/keyed/plugins', { name: 'key-auth', config: {} }));
  ok(await gw.admin('POST', '/consumers', { username: 'alice' }));
  ok(await gw.admin('POST', '/consumers/alice/key-auth', { key: '{vault://env/portcullis-test-api-key}' }));
  ok(await gw.admin('POST', '/services/svc/routes', { name: 'oidc', paths: ['/oidc'] }));
  ok(
    await gw.admin('POST', '/routes/oidc/plugins', {
      name: 'openid-connect',
      config: { issuer: 'https://idp.invalid/realms/demo', client_id: ['app'], client_secret: ['{vault://env/portcullis-test-oidc/client_secret}'], auth_methods: ['bearer'] },
    }),
  );
  await gw.settle();
});

after(async () => {
  await gw?.close();
  await echo?.close();
  delete process.env.PORTCULLIS_TEST_API_KEY;
  delete process.env.PORTCULLIS_TEST_OIDC;
});

test('the proxy uses the resolved secret', async () => {
  assert.equal((await fetch(`${gw.proxyUrl}/keyed`, { headers: { apikey: API_KEY } })).status, 200);
  const withRef = await fetch(`${gw.proxyUrl}/keyed`, { headers: { apikey: '{vault://env/portcullis-test-api-key}' } });
  assert.equal(withRef.status, 401, 'the reference itself is not a key');
  await withRef.text();
});

test('the Admin API, the export and the logs show the reference, never the secret', async () => {
  const answers = [
    await gw.admin('GET', '/key-auths'),
    await gw.admin('GET', '/consumers/alice/key-auth'),
    await gw.admin('GET', '/plugins'),
    await gw.admin('GET', '/routes/oidc/plugins'),
    await gw.admin('GET', '/config?format=json'),
    await gw.admin('GET', '/config'),
  ];
  for (const r of answers) {
    const text = JSON.stringify(r.body);
    assert.ok(!text.includes(API_KEY) && !text.includes(CLIENT_SECRET), text.slice(0, 200));
  }
  assert.ok(JSON.stringify(answers[0]!.body).includes('{vault://env/portcullis-test-api-key}'));
  assert.ok(JSON.stringify(answers[2]!.body).includes('{vault://env/portcullis-test-oidc/client_secret}'));
  const logs = gw.logs.text();
  assert.ok(logs.length > 0);
  assert.ok(!logs.includes(API_KEY) && !logs.includes(CLIENT_SECRET));
});

test('a missing variable fails the build with Kong’s message; the previous configuration keeps serving', async () => {
  assert.equal((await gw.admin('POST', '/consumers', { username: 'bob' })).status, 201);
  assert.equal((await gw.admin('POST', '/consumers/bob/key-auth', { key: '{vault://env/portcullis-test-absent}' })).status, 201);
  await gw.settle();
  const err = gw.logs.lines.find((l) => String(l.err ?? '').includes('{vault://env/portcullis-test-absent}'));
  assert.ok(err !== undefined, 'the build error is logged');
  assert.match(String(err.err), /could not retrieve value for reference \{vault:\/\/env\/portcullis-test-absent\} \(could not get value from external vault \(no value found \(environment variable PORTCULLIS_TEST_ABSENT is not set\)\)\)/);
  assert.equal((await fetch(`${gw.proxyUrl}/keyed`, { headers: { apikey: API_KEY } })).status, 200);
  await gw.admin('DELETE', '/consumers/bob');
  await gw.settle();
});

test('DB-less: POST /config with an unresolvable reference is refused, naming it', async () => {
  const dbless = await startGateway({ database: 'off', logLevel: 'warn' });
  try {
    const res = await fetch(`${dbless.adminUrl}/config`, {
      method: 'POST',
      headers: { 'content-type': 'text/yaml' },
      body: '_format_version: "3.0"\nconsumers:\n- username: c\n  keyauth_credentials:\n  - key: "{vault://env/portcullis-test-absent}"\n',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, 14);
    assert.match(body.message, /environment variable PORTCULLIS_TEST_ABSENT is not set/);
  } finally {
    await dbless.close();
  }
});
