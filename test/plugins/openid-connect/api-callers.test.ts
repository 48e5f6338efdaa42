/**
 * Browser vs API callers on an authorization code route
 * (`redirect_api_callers`, a Portcullis addition): with `false`, a request
 * from script (X-Requested-With, Sec-Fetch-Mode cors/same-origin, Accept
 * JSON without HTML) and no session gets 401 + WWW-Authenticate instead of
 * a 302 to the IdP; page navigations are still redirected. The default
 * (`true`) redirects everyone, as Kong does. Checked with exact headers
 * (node:http) and in Chromium (a page navigation vs the page's own fetch).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { browserAvailable, launchBrowser, login, type Browser } from '../../helpers/browser.ts';
import { DEMO_PASSWORD } from '../../helpers/idp.ts';
import { startOidcEnv, type OidcEnv } from './env.ts';

const AUTH = '/protocol/openid-connect/auth';

let env: OidcEnv;
before(async () => {
  env = await startOidcEnv();
  const code = { client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['authorization_code', 'session'] };
  await env.protect('spa', { ...code, redirect_api_callers: false });
  await env.protect('kong-default', code);
});
after(() => env?.close());

/** GET with exactly these headers (fetch would add Sec-Fetch-Mode: cors itself). */
function get(path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
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

const NAVIGATION = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'sec-fetch-mode': 'navigate' };

describe('redirect_api_callers: false', () => {
  for (const [what, headers] of [
    ['X-Requested-With', { 'x-requested-with': 'XMLHttpRequest', accept: '*/*' }],
    ['Sec-Fetch-Mode: cors', { 'sec-fetch-mode': 'cors', accept: '*/*' }],
    ['Sec-Fetch-Mode: same-origin', { 'sec-fetch-mode': 'same-origin' }],
    ['Accept: application/json', { accept: 'application/json' }],
  ] as const) {
    test(`${what} without a session: 401 + WWW-Authenticate, no authorization cookie, 0 upstream hits`, async () => {
      const upstream = env.echo.requestCount();
      const r = await get('/spa', headers);
      assert.equal(r.status, 401);
      assert.match(String(r.headers['www-authenticate']), /^Bearer realm="127\.0\.0\.1"/);
      assert.deepEqual(JSON.parse(r.body), { message: 'Unauthorized' });
      assert.equal(r.headers['set-cookie'], undefined);
      assert.equal(r.headers.location, undefined);
      assert.equal(env.echo.requestCount(), upstream);
    });
  }

  test('a page navigation is still redirected to the IdP', async () => {
    const r = await get('/spa', NAVIGATION);
    assert.equal(r.status, 302);
    assert.ok(String(r.headers.location).startsWith(env.idp.issuer + AUTH));
  });

  test('curl-like callers (Accept */*, no fetch metadata) are redirected', async () => {
    const r = await get('/spa', { accept: '*/*' });
    assert.equal(r.status, 302);
  });

  test('Accept that lists both JSON and HTML is a browser: redirected', async () => {
    const r = await get('/spa', { accept: 'text/html, application/json' });
    assert.equal(r.status, 302);
  });
});

describe('redirect_api_callers: true (default, Kong)', () => {
  test('an XHR without a session is redirected, as Kong does', async () => {
    const r = await get('/kong-default', { 'x-requested-with': 'XMLHttpRequest', 'sec-fetch-mode': 'cors', accept: 'application/json' });
    assert.equal(r.status, 302);
    assert.ok(String(r.headers.location).startsWith(env.idp.issuer + AUTH));
  });
});

const skip = browserAvailable() ? false : 'chromium is not installed (/usr/bin/chromium)';

describe('in Chromium', { skip }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(() => browser?.close());

  test('the page\'s fetch gets a 401 it can act on; after login the same fetch gets the upstream', async () => {
    const page = await browser.newPage();
    try {
      // A page on the gateway's origin without a session: a same-origin fetch of the API.
      await page.goto(`${env.gw.proxyUrl}/not-routed`);
      const before = await page.evaluate(async () => {
        const res = await fetch('/spa/data');
        return { status: res.status, challenge: res.headers.get('www-authenticate'), redirected: res.redirected };
      });
      assert.equal(before.status, 401);
      assert.equal(before.redirected, false);
      assert.match(before.challenge ?? '', /^Bearer /);

      // The navigation logs in (302 → IdP → back) and establishes the session …
      await page.goto(`${env.gw.proxyUrl}/spa/data`);
      assert.ok(page.url().startsWith(env.idp.issuer + AUTH) || page.url().includes('/login-actions/'), page.url());
      await login(page, 'Blog_with_scope', DEMO_PASSWORD);
      assert.ok(page.url().startsWith(`${env.gw.proxyUrl}/spa/data`), page.url());

      // … so the page's fetch now rides the session cookie.
      const after = await page.evaluate(async () => {
        const res = await fetch('/spa/data');
        return { status: res.status, body: (await res.json()) as { headers: Record<string, string> } };
      });
      assert.equal(after.status, 200);
      assert.match(after.body.headers.authorization ?? '', /^Bearer ey/);
    } finally {
      await page.close();
    }
  });
});
