/**
 * Kong Manager OSS, built from source, against a real Portcullis in
 * Chromium (issue 19). Optional: it needs a Kong Manager build
 * (`dist/` of Kong/kong-manager, docs/kong-manager.md "Build Kong Manager"),
 * named by PORTCULLIS_KONG_MANAGER_DIST; CI has none (it cannot reach
 * GitHub or build with pnpm), so there it is skipped with that reason.
 *
 * The built app is served as Kong's nginx serves it (kconfig.js with
 * ADMIN_API_URL, `/__km_base__/` → `/`) on its own origin; the gateway runs
 * with admin_gui_url = that origin. The test creates a service through the
 * app's form and reads it back from the Admin API, then opens the overview.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { browserAvailable, launchBrowser, type Browser } from '../helpers/browser.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

const DIST = process.env.PORTCULLIS_KONG_MANAGER_DIST ?? '';
const skip = !browserAvailable()
  ? 'no Chromium at /usr/bin/chromium'
  : DIST === '' || !existsSync(join(DIST, 'index.html'))
    ? 'no Kong Manager build: set PORTCULLIS_KONG_MANAGER_DIST to its dist/ (docs/kong-manager.md)'
    : false;

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.json': 'application/json' };

/** The built app on its own origin; `kconfig.js` names the Admin API set later (its port is known after the GUI's). */
async function serveKongManager(dist: string): Promise<{ server: Server; url: string; adminApiUrl: string }> {
  const out = { server: null as unknown as Server, url: '', adminApiUrl: '' };
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      if (path === '/kconfig.js') {
        const kconfig = `window.K_CONFIG = {\n  'ADMIN_GUI_PATH': '/',\n  'ADMIN_API_URL': '${out.adminApiUrl}',\n  'ADMIN_API_PORT': '${new URL(out.adminApiUrl).port}',\n  'ANONYMOUS_REPORTS': 'false'\n}\n`;
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(kconfig);
        return;
      }
      let file = normalize(join(dist, path));
      if (!file.startsWith(normalize(dist))) file = join(dist, 'index.html');
      if (!(await stat(file).then((s) => s.isFile(), () => false))) file = join(dist, 'index.html');
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      let body = await readFile(file);
      if (/html|javascript|css/.test(type)) body = Buffer.from(body.toString('utf8').replaceAll('/__km_base__/', '/'));
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  out.server = server;
  out.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return out;
}

describe('Kong Manager OSS in Chromium against Portcullis', { skip }, () => {
  let gw: TestGateway;
  let gui: { server: Server; url: string; adminApiUrl: string };
  let browser: Browser;
  before(async () => {
    gui = await serveKongManager(DIST);
    gw = await startGateway({ logLevel: 'warn', flags: { 'admin-gui-url': gui.url } });
    gui.adminApiUrl = gw.adminUrl;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    gui?.server.close();
    await gw?.close();
  });

  it('creates a gateway service with its form and shows the 3.9 overview', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${gui.url}/services/create`);
    await page.getByTestId('gateway-service-url-input').fill('http://orders.internal:8080/v1', { timeout: 60_000 });
    await page.getByTestId('gateway-service-name-input').fill('orders');
    await page.getByTestId('service-create-form-submit').click();
    await page.getByTestId('name-property-value').getByText('orders').waitFor({ timeout: 60_000 });
    const stored = await gw.admin('GET', '/services/orders');
    assert.equal(stored.status, 200);
    assert.equal((stored.body as { host: string }).host, 'orders.internal');
    await page.goto(`${gui.url}/`);
    await page.getByText('3.9.0').first().waitFor({ timeout: 60_000 });
    await page.close();
  });
});
