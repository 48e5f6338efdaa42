/**
 * The Admin API's CORS answers, as Kong's (kong/api/api_helpers.lua
 * `cors_filter`, spec/02-integration/04-admin_api/23-cors_spec.lua): the
 * request's Origin echoed (`*` without one), credentials allowed, preflights
 * allowing the route's methods and the headers asked for; with
 * `admin_gui_url` set, only its origins. Kong Manager sends every request
 * with credentials, so a browser drops any answer without these (issue 19).
 *
 * The last part runs real Chromium: a page served from another origin calls
 * the Admin API with `credentials: 'include'`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { browserAvailable, launchBrowser, type Browser } from '../helpers/browser.ts';

const GUI = 'http://admin.api:9100';

for (const adminGuiUrl of ['', 'http://admin.api:9100', 'http://admin.api:9100/path/to/any/way']) {
  describe(`Admin API CORS when admin_gui_url is "${adminGuiUrl}"`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway({ logLevel: 'warn', flags: adminGuiUrl === '' ? {} : { 'admin-gui-url': adminGuiUrl } });
    });
    after(() => gw.close());
    const restricted = adminGuiUrl !== '';

    it('a preflight answers 204 with the route\'s methods and Content-Type, or the headers asked for', async () => {
      let res = await fetch(`${gw.adminUrl}/`, { method: 'OPTIONS' });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('allow'), 'GET, HEAD, OPTIONS');
      assert.equal(res.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS');
      assert.equal(res.headers.get('access-control-allow-headers'), 'Content-Type');
      res = await fetch(`${gw.adminUrl}/routes`, { method: 'OPTIONS' });
      assert.equal(res.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS, POST');
      res = await fetch(`${gw.adminUrl}/routes/test`, { method: 'OPTIONS' });
      assert.equal(res.headers.get('access-control-allow-methods'), 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT');
      res = await fetch(`${gw.adminUrl}/`, { method: 'OPTIONS', headers: { 'access-control-request-headers': 'X-Header-1,X-Header-2' } });
      assert.equal(res.headers.get('access-control-allow-headers'), 'X-Header-1,X-Header-2');
    });

    for (const method of ['OPTIONS', 'GET']) {
      it(`${method}: Access-Control-Allow-Origin is ${restricted ? 'the admin_gui_url origin' : 'the Origin echoed'}, with credentials`, async () => {
        const res = await fetch(`${gw.adminUrl}/`, { method, headers: { origin: 'http://example.com' } });
        assert.equal(res.status, method === 'GET' ? 200 : 204);
        assert.equal(res.headers.get('access-control-allow-origin'), restricted ? GUI : 'http://example.com');
        assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
        assert.equal(res.headers.get('vary'), 'Origin');
        const none = await fetch(`${gw.adminUrl}/`, { method });
        assert.equal(none.headers.get('access-control-allow-origin'), restricted ? GUI : '*');
        if (restricted) {
          const allowed = await fetch(`${gw.adminUrl}/`, { method, headers: { origin: GUI } });
          assert.equal(allowed.headers.get('access-control-allow-origin'), GUI);
        }
      });
    }

    it('a main request does not answer Access-Control-Request-Method / -Headers', async () => {
      const res = await fetch(`${gw.adminUrl}/`, {
        headers: { 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'X-Header-1,X-Header-2' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-methods'), null);
      assert.equal(res.headers.get('access-control-allow-headers'), null);
    });

    it('errors carry the CORS headers too (a browser must be able to read a 400 or 404)', async () => {
      const res = await fetch(`${gw.adminUrl}/services`, {
        method: 'POST',
        headers: { origin: GUI, 'content-type': 'application/json' },
        body: JSON.stringify({ host: 'x', connect_timeout: 0 }),
      });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('access-control-allow-origin'), GUI);
      assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
      const missing = await fetch(`${gw.adminUrl}/nowhere`, { headers: { origin: GUI } });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('access-control-allow-origin'), GUI);
    });
  });
}

/** A page server on its own port (another origin than the Admin API's). */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>gui</title><p>gui</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** In the page: a credentialed GET, then a credentialed JSON POST (preflighted); what the page could read. */
async function callFromPage(browser: Browser, pageOrigin: string, adminUrl: string, name: string): Promise<{ ok: boolean; list?: number; created?: string; error?: string }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${pageOrigin}/`);
    return await page.evaluate(async ({ adminUrl, name }) => {
      try {
        const list = await fetch(`${adminUrl}/services`, { credentials: 'include' });
        const listBody = (await list.json()) as { data: unknown[] };
        const created = await fetch(`${adminUrl}/services`, {
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, url: 'http://example.test' }),
        });
        const createdBody = (await created.json()) as { name: string };
        return { ok: true, list: listBody.data.length, created: createdBody.name };
      } catch (err) {
        return { ok: false, error: String(err) };
      }
    }, { adminUrl, name });
  } finally {
    await context.close();
  }
}

describe('Admin API CORS in Chromium', { skip: browserAvailable() ? false : 'no Chromium at /usr/bin/chromium' }, () => {
  let browser: Browser;
  let page: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  const gateways: TestGateway[] = [];
  before(async () => {
    browser = await launchBrowser();
    page = await pageServer();
    other = await pageServer();
  });
  after(async () => {
    await browser?.close();
    for (const gw of gateways) await gw.close();
    page?.server.close();
    other?.server.close();
  });

  it('a page on another origin reads and writes the Admin API with credentialed fetch', async () => {
    const gw = await startGateway({ logLevel: 'warn' });
    gateways.push(gw);
    const result = await callFromPage(browser, page.origin, gw.adminUrl, 'from-browser');
    assert.deepEqual(result, { ok: true, list: 0, created: 'from-browser' });
    const stored = await gw.admin('GET', '/services/from-browser');
    assert.equal(stored.status, 200);
  });

  it('with admin_gui_url set, its origin may call and any other origin is blocked by the browser', async () => {
    const gw = await startGateway({ logLevel: 'warn', flags: { 'admin-gui-url': `${page.origin}/manager` } });
    gateways.push(gw);
    assert.deepEqual(await callFromPage(browser, page.origin, gw.adminUrl, 'allowed'), { ok: true, list: 0, created: 'allowed' });
    const blocked = await callFromPage(browser, other.origin, gw.adminUrl, 'blocked');
    assert.equal(blocked.ok, false);
    assert.match(blocked.error ?? '', /Failed to fetch/);
    // the GET reached the API but its answer was withheld; the POST's preflight failed, so nothing was written
    assert.equal((await gw.admin('GET', '/services/blocked')).status, 404);
  });
});
