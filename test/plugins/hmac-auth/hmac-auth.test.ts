/**
 * hmac-auth end to end through the proxy: a credential created over the
 * Admin API, requests signed as Kong's documentation shows (date,
 * request-line, other headers), clock skew, enforce_headers, algorithms,
 * Proxy-Authorization, hide_credentials, Digest body validation, anonymous.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';

let gw: TestGateway;
let echo: Echo;
let carol: { id: string };
let guest: { id: string };
const SECRET = 'carol-hmac-secret';

function sign(opts: { method?: string; target: string; headers: Record<string, string>; signed: string[]; alg?: string; secret?: string; user?: string }): string {
  const { method = 'GET', target, headers, signed, alg = 'hmac-sha256', secret = SECRET, user = 'carol' } = opts;
  const lines = signed.map((h) => (h === 'request-line' ? `${method} ${target} HTTP/1.1` : `${h}: ${headers[h]}`));
  const sig = createHmac(alg.replace('hmac-', ''), secret).update(lines.join('\n')).digest('base64');
  return `hmac username="${user}", algorithm="${alg}", headers="${signed.join(' ')}", signature="${sig}"`;
}

async function send(target: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${gw.proxyUrl}${target}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

const date = (offsetS = 0) => new Date(Date.now() + offsetS * 1000).toUTCString();

before(async () => {
  echo = await startEcho();
  gw = await startGateway();
  assert.equal((await gw.admin('POST', '/services', { name: 's', url: echo.url })).status, 201);
  for (const r of ['plain', 'strict', 'anon']) assert.equal((await gw.admin('POST', '/services/s/routes', { name: r, paths: [`/${r}`] })).status, 201);
  carol = (await gw.admin('POST', '/consumers', { username: 'carol' })).body;
  guest = (await gw.admin('POST', '/consumers', { username: 'guest' })).body;
  assert.equal((await gw.admin('POST', '/consumers/carol/hmac-auth', { username: 'carol', secret: SECRET })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/plain/plugins', { name: 'hmac-auth' })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/strict/plugins', { name: 'hmac-auth', config: { enforce_headers: ['date', 'request-line'], algorithms: ['hmac-sha512', 'hmac-sha1'], validate_request_body: true, hide_credentials: true, clock_skew: 60, realm: 'api' } })).status, 201);
  assert.equal((await gw.admin('POST', '/routes/anon/plugins', { name: 'hmac-auth', config: { anonymous: 'guest' } })).status, 201);
  await gw.settle();
});

after(async () => {
  await gw.close();
  await echo.close();
});

describe('hmac-auth', () => {
  it('defaults are Kong 3.x', async () => {
    const plugin = (await gw.admin('GET', '/routes/plain/plugins')).body.data[0];
    assert.deepEqual(plugin.config, { hide_credentials: false, clock_skew: 300, anonymous: null, validate_request_body: false, enforce_headers: [], algorithms: ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'], realm: null });
    assert.equal((await gw.admin('POST', '/schemas/plugins/validate', { name: 'hmac-auth', config: { algorithms: ['hmac-md5'] } })).status, 400);
  });

  it('a request signed over date and request-line reaches the upstream as the consumer', async () => {
    const headers = { date: date(), 'x-custom': 'v' };
    const authorization = sign({ target: '/plain/x?a=1&b=2', headers, signed: ['date', 'request-line', 'x-custom'] });
    const res = await send('/plain/x?a=1&b=2', { ...headers, authorization, 'x-consumer-id': 'forged' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const reply = res.body as EchoReply;
    assert.equal(reply.headers['x-consumer-id'], carol.id);
    assert.equal(reply.headers['x-credential-identifier'], 'carol');
    assert.ok(reply.headers.authorization !== undefined, 'kept without hide_credentials');
  });

  it('x-date is accepted instead of date; Proxy-Authorization is read first', async () => {
    const headers = { 'x-date': date() };
    const res = await send('/plain/x', { ...headers, 'proxy-authorization': sign({ target: '/plain/x', headers, signed: ['x-date'] }), authorization: 'garbage' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  const expect401 = async (target: string, headers: Record<string, string>, message: string, challenge = 'hmac', method = 'GET', body?: string) => {
    const res = await send(target, headers, method, body);
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.equal(res.body.message, message);
    assert.equal(res.headers.get('www-authenticate'), challenge);
  };

  it('Kong failures', async () => {
    await expect401('/plain/x', { date: date() }, 'Unauthorized');
    const noDate = 'HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication';
    await expect401('/plain/x', { authorization: 'hmac x' }, noDate);
    const old = { date: date(-400) };
    await expect401('/plain/x', { ...old, authorization: sign({ target: '/plain/x', headers: old, signed: ['date'] }) }, noDate);
    const h = { date: date() };
    await expect401('/plain/x', { ...h, authorization: 'hmac garbage' }, 'HMAC signature cannot be verified');
    await expect401('/plain/x', { ...h, authorization: sign({ target: '/plain/x', headers: h, signed: ['date'], user: 'nobody' }) }, 'HMAC signature cannot be verified');
    // Kong's default algorithms include hmac-sha1
    assert.equal((await send('/plain/x', { ...h, authorization: sign({ target: '/plain/x', headers: h, signed: ['date'], alg: 'hmac-sha1' }) })).status, 200);
    await expect401('/plain/x', { ...h, authorization: sign({ target: '/plain/x', headers: h, signed: ['date'], secret: 'wrong' }) }, 'HMAC signature does not match');
    // the request line signed for another path
    await expect401('/plain/y', { ...h, authorization: sign({ target: '/plain/x', headers: h, signed: ['date', 'request-line'] }) }, 'HMAC signature does not match');
  });

  it('enforce_headers, algorithms, Digest and hide_credentials', async () => {
    const body = '{"hello":"world"}';
    const h = { date: date(), digest: `SHA-256=${createHash('sha256').update(body).digest('base64')}`, 'content-type': 'application/json' };
    const good = sign({ method: 'POST', target: '/strict/x', headers: h, signed: ['date', 'request-line', 'digest'], alg: 'hmac-sha512' });
    const res = await send('/strict/x', { ...h, authorization: good }, 'POST', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body as EchoReply).headers.authorization, undefined);
    await expect401('/strict/x', { ...h, authorization: good }, 'HMAC signature does not match', 'hmac realm="api"', 'POST', '{"hello":"tampered"}');
    const notEnforced = sign({ method: 'POST', target: '/strict/x', headers: h, signed: ['date', 'digest'], alg: 'hmac-sha512' });
    await expect401('/strict/x', { ...h, authorization: notEnforced }, 'HMAC signature cannot be verified', 'hmac realm="api"', 'POST', body);
    const sha256 = sign({ method: 'POST', target: '/strict/x', headers: h, signed: ['date', 'request-line', 'digest'] });
    await expect401('/strict/x', { ...h, authorization: sha256 }, 'HMAC signature cannot be verified', 'hmac realm="api"', 'POST', body);
  });

  it('anonymous', async () => {
    const res = await send('/anon/x', { date: date(), authorization: 'hmac nothing' });
    assert.equal(res.status, 200);
    assert.equal((res.body as EchoReply).headers['x-consumer-id'], guest.id);
    assert.equal((res.body as EchoReply).headers['x-anonymous-consumer'], 'true');
  });
});
