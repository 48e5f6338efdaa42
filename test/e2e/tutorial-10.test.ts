/**
 * Tutorial 10 (docs/tutorials/10-dpop-and-backchannel-logout.md), step by
 * step against the real demo (`portcullis demo`, what `npm run demo` execs,
 * on free ports): the Admin API calls of the page, the page's DPoP client
 * script with its printed outcomes, and the browser part — log in, sign out
 * at the IdP, the gateway session is over.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { browserAvailable, launchBrowser, login, type Browser } from '../helpers/browser.ts';
import { DEMO_PASSWORD } from '../helpers/idp.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(REPO, 'docs', 'tutorials', 'scripts', 'dpop-call.ts');
const skip = browserAvailable() ? false : 'chromium is not installed (/usr/bin/chromium)';

let demo: ChildProcess | null = null;
let browser: Browser | null = null;

after(async () => {
  await browser?.close();
  if (demo?.pid !== undefined && demo.exitCode === null) {
    const exited = new Promise((r) => demo!.once('exit', r));
    process.kill(-demo.pid, 'SIGINT');
    await exited;
  }
});

async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
      servers.push(s);
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

async function startDemo(): Promise<{ proxy: string; admin: string; issuer: string }> {
  const [idp, echo, proxy, admin] = await freePorts(4) as [number, number, number, number];
  demo = spawn(process.execPath, [join(REPO, 'src', 'cli', 'main.ts'), 'demo', '--idp-port', String(idp), '--echo-port', String(echo), '--proxy-port', String(proxy), '--admin-port', String(admin)], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  demo.stdout!.setEncoding('utf8').on('data', (c: string) => { out += c; });
  demo.stderr!.setEncoding('utf8').on('data', (c: string) => { out += c; });
  const deadline = Date.now() + 60_000;
  while (!out.includes('Open in a browser')) {
    if (demo.exitCode !== null || Date.now() > deadline) throw new Error(`demo did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proxy: `http://127.0.0.1:${proxy}`, admin: `http://127.0.0.1:${admin}`, issuer: `http://127.0.0.1:${idp}/realms/demo` };
}

async function form(url: string, fields: Record<string, string>): Promise<number> {
  return (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) })).status;
}

async function json(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

test('tutorial 10 against the demo: DPoP route and script, then back-channel logout in a browser', { skip }, async () => {
  const d = await startDemo();

  // Part 1
  assert.equal(await form(`${d.admin}/services/openidconnect/routes`, { name: 'dpopRoute', paths: '/dpop' }), 201);
  let r = await json(`${d.admin}/routes/dpopRoute/plugins`, {
    name: 'openid-connect',
    config: { issuer: d.issuer, client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'], proof_of_possession_dpop: 'strict' },
  });
  assert.equal(r.status, 201, r.text);
  const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, `${d.proxy}/dpop`, d.issuer], { cwd: REPO });
  assert.match(stdout, /^token_type: DPoP$/m);
  assert.match(stdout, /^with a fresh proof: 200$/m);
  assert.match(stdout, /^replayed proof: 401 DPoP realm="127\.0\.0\.1", error="invalid_dpop_proof", error_description="DPoP proof was replayed \(jti already used\)", algs="ES256 /m);
  assert.match(stdout, /^as a bearer token: 401$/m);

  // Part 2
  assert.equal(await form(`${d.admin}/services/openidconnect/routes`, { name: 'appRoute', paths: '/app' }), 201);
  r = await json(`${d.admin}/routes/appRoute/plugins`, {
    name: 'openid-connect',
    config: {
      issuer: d.issuer,
      client_id: ['kong-bcl'],
      client_secret: ['kong-bcl-secret'],
      auth_methods: ['authorization_code', 'session'],
      redirect_uri: [`${d.proxy}/app`],
      backchannel_logout_uri_suffix: '/backchannel-logout',
    },
  });
  assert.equal(r.status, 201, r.text);
  browser = await launchBrowser();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${d.proxy}/app`);
  await login(page, 'Blog_with_scope', DEMO_PASSWORD);
  assert.ok(page.url().startsWith(`${d.proxy}/app`), page.url());
  assert.match((await page.textContent('body')) ?? '', /"url"/, 'the echo upstream answered');
  await page.goto(`${d.issuer}/protocol/openid-connect/logout`);
  await page.waitForSelector('#kc-page-title', { timeout: 15_000 });
  await page.goto(`${d.proxy}/app`);
  await page.waitForSelector('#username', { timeout: 15_000 });
  assert.ok(page.url().startsWith(`${d.issuer}/`), `sent to the IdP's login page, not the app: ${page.url()}`);
  await context.close();
});
