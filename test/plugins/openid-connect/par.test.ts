/**
 * Pushed Authorization Requests (RFC 9126): with
 * `require_pushed_authorization_requests` (or an IdP that requires it), the
 * gateway POSTs the authorization request to the IdP's PAR endpoint and
 * redirects the browser with only `client_id` and `request_uri`. The demo
 * IdP's `kong-par` client is refused by the IdP unless its requests are
 * pushed, so a successful login proves PAR was used. A PAR endpoint that
 * refuses is an IdP failure (500), never a 401.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { browserAvailable, launchBrowser, login, type Browser } from '../../helpers/browser.ts';
import { DEMO_PASSWORD, startIdp, type Idp } from '../../helpers/idp.ts';
import { startOidcEnv, type OidcEnv } from './env.ts';

const AUTH = '/protocol/openid-connect/auth';
const PAR = '/protocol/openid-connect/ext/par/request';
const NAVIGATION = { accept: 'text/html,*/*;q=0.8', 'sec-fetch-mode': 'navigate' };

let env: OidcEnv;
let strict: Idp;
before(async () => {
  [env, strict] = await Promise.all([startOidcEnv(), startIdp({ realm: 'strict', requirePar: true })]);
  const code = { auth_methods: ['authorization_code', 'session'] };
  await env.protect('par', { ...code, client_id: ['kong-par'], client_secret: ['kong-par-secret'], require_pushed_authorization_requests: true });
  await env.protect('par-post', {
    ...code, client_id: ['kong-par'], client_secret: ['kong-par-secret'], require_pushed_authorization_requests: true,
    pushed_authorization_request_endpoint_auth_method: 'client_secret_post',
  });
  await env.protect('no-par', { ...code, client_id: ['kong-par'], client_secret: ['kong-par-secret'] });
  await env.protect('par-bad-secret', { ...code, client_id: ['kong-par'], client_secret: ['wrong'], require_pushed_authorization_requests: true });
  await env.protect('par-off', { ...code, client_id: ['kong'], client_secret: ['kong-secret'], require_pushed_authorization_requests: false, issuer: strict.issuer });
  await env.protect('par-by-discovery', { ...code, client_id: ['kong'], client_secret: ['kong-secret'], issuer: strict.issuer });
});
after(async () => {
  await env?.close();
  await strict?.close();
});

function get(path: string, headers: Record<string, string> = NAVIGATION): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(env.gw.proxyUrl + path, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('pushed authorization requests (RFC 9126)', () => {
  test('require_pushed_authorization_requests: the browser gets only client_id and request_uri', async () => {
    const pushes = env.idp.requestCount(PAR);
    const r = await get('/par');
    assert.equal(r.status, 302);
    const loc = new URL(String(r.headers.location));
    assert.equal(loc.origin + loc.pathname, env.idp.issuer + AUTH);
    assert.deepEqual([...loc.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.equal(loc.searchParams.get('client_id'), 'kong-par');
    assert.match(loc.searchParams.get('request_uri')!, /^urn:ietf:params:oauth:request_uri:/);
    assert.equal(env.idp.requestCount(PAR), pushes + 1);
    assert.match(String(r.headers['set-cookie']), /authorization=/);
  });

  test('the PAR request can authenticate with client_secret_post (pushed_authorization_request_endpoint_auth_method)', async () => {
    const r = await get('/par-post');
    assert.equal(r.status, 302);
    assert.ok(new URL(String(r.headers.location)).searchParams.has('request_uri'));
  });

  test('without PAR, the IdP refuses kong-par: the parameters travel in the URL (the control case)', async () => {
    const r = await get('/no-par');
    assert.equal(r.status, 302);
    const loc = new URL(String(r.headers.location));
    assert.equal(loc.searchParams.get('response_type'), 'code');
    const idp = await fetch(loc, { redirect: 'manual' });
    assert.match(String(idp.headers.get('location')), /error_description=Pushed\+Authorization\+Request\+must\+be\+used/);
  });

  test('null (Kong default) follows the IdP: an IdP advertising require_pushed_authorization_requests gets pushed requests', async () => {
    const pushes = strict.requestCount(PAR);
    const r = await get('/par-by-discovery');
    assert.equal(r.status, 302);
    assert.ok(new URL(String(r.headers.location)).searchParams.has('request_uri'));
    assert.equal(strict.requestCount(PAR), pushes + 1);
  });

  test('false forces plain redirects even when the IdP requires PAR', async () => {
    const pushes = strict.requestCount(PAR);
    const r = await get('/par-off');
    assert.equal(r.status, 302);
    assert.equal(new URL(String(r.headers.location)).searchParams.get('response_type'), 'code');
    assert.equal(strict.requestCount(PAR), pushes);
  });

  test('the PAR endpoint refusing the client is an IdP failure: 500, no authorization cookie, 0 upstream hits', async () => {
    const upstream = env.echo.requestCount();
    const r = await get('/par-bad-secret');
    assert.equal(r.status, 500);
    assert.equal(r.headers['set-cookie'], undefined);
    assert.equal(env.echo.requestCount(), upstream);
  });

  test('the IdP down: 500', async () => {
    await env.idp.setDown(true);
    try {
      assert.equal((await get('/par')).status, 500);
    } finally {
      await env.idp.setDown(false);
    }
  });
});

const skip = browserAvailable() ? false : 'chromium is not installed (/usr/bin/chromium)';

describe('PAR login in Chromium', { skip }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(() => browser?.close());

  test('a user logs in through a pushed request and reaches the upstream with the access token', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${env.gw.proxyUrl}/par`);
      await login(page, 'Blog_with_scope', DEMO_PASSWORD);
      assert.ok(page.url().startsWith(`${env.gw.proxyUrl}/par`), page.url());
      const echoed = JSON.parse((await page.textContent('body')) ?? 'null') as { headers: Record<string, string> };
      assert.match(echoed.headers.authorization ?? '', /^Bearer ey/);
    } finally {
      await page.close();
    }
  });
});
