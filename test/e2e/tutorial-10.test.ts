/**
 * Tutorial 10 (docs/tutorials/10-dpop-and-backchannel-logout.md), step by
 * step against the real demo (`portcullis demo`, what `npm run demo` execs,
 * on free ports): the Admin API calls of the page, the page's DPoP client
 * script with its printed outcomes, and the browser part — log in, sign out
 * at the IdP, the gateway session is over. Part 3: the demo on PostgreSQL
 * (a fresh schema of database `test`) as node A, `portcullis start
 * --workers 2` on the same database as node B, no Redis; the logout at the
 * IdP reaches node A and node B refuses the session within 1 s.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { freePorts } from '../helpers/ports.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { browserAvailable, launchBrowser, login, type Browser } from '../helpers/browser.ts';
import { DEMO_PASSWORD } from '../helpers/idp.ts';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startClusterGateway, type ClusterGateway } from '../helpers/cluster-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(REPO, 'docs', 'tutorials', 'scripts', 'dpop-call.ts');
const skip = browserAvailable() ? false : 'chromium is not installed (/usr/bin/chromium)';

const demos: ChildProcess[] = [];
let browser: Browser | null = null;
let nodeB: ClusterGateway | null = null;
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database: 'test' };
const SCHEMA = `tutorial10_${randomUUID().replaceAll('-', '')}`;
let schemaMade = false;

after(async () => {
  await browser?.close();
  await nodeB?.close();
  for (const demo of demos) {
    if (demo.pid !== undefined && demo.exitCode === null) {
      const exited = new Promise((r) => demo.once('exit', r));
      process.kill(-demo.pid, 'SIGINT');
      await exited;
    }
  }
  if (schemaMade) {
    const c = new pg.Client(PG);
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await c.end();
  }
});

async function startDemo(args: string[] = [], env: Record<string, string> = {}): Promise<{ proxy: string; admin: string; issuer: string }> {
  const [idp, echo, proxy, admin] = await freePorts(4) as [number, number, number, number];
  const demo = spawn(process.execPath, [join(REPO, 'src', 'cli', 'main.ts'), 'demo', '--idp-port', String(idp), '--echo-port', String(echo), '--proxy-port', String(proxy), '--admin-port', String(admin), ...args], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  demos.push(demo);
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

test('tutorial 10 part 3: the demo on PostgreSQL and a second node, no Redis — the logout reaches node A, node B ends the session within 1 s', { skip }, async (t) => {
  const env = { KONG_PG_HOST: PG.host, KONG_PG_USER: PG.user, KONG_PG_DATABASE: PG.database, KONG_PG_SCHEMA: SCHEMA };
  schemaMade = true;
  const d = await startDemo(['--database', 'postgres'], env); // node A; creates the schema
  const db = new pg.Client(PG);
  await db.connect();
  try {
    const storeVersion = async (): Promise<number> => Number((await db.query(`SELECT version FROM "${SCHEMA}".config_version`)).rows[0].version);
    const b = await startClusterGateway({ workers: 2, env: { ...env, KONG_DATABASE: 'postgres' }, storeVersion });
    nodeB = b;

    assert.equal(await form(`${d.admin}/services/openidconnect/routes`, { name: 'appRoute', paths: '/app' }), 201);
    const r = await json(`${d.admin}/routes/appRoute/plugins`, {
      name: 'openid-connect',
      config: {
        issuer: d.issuer,
        client_id: ['kong-bcl'],
        client_secret: ['kong-bcl-secret'],
        auth_methods: ['authorization_code', 'session'],
        redirect_uri: [`${d.proxy}/app`],
        session_secret: 'tutorial-10-part-3-secret-0123456789',
        backchannel_logout_uri_suffix: '/backchannel-logout',
      },
    });
    assert.equal(r.status, 201, r.text);
    await b.settle(); // node B reads the route and plugin from the database

    browser ??= await launchBrowser();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${d.proxy}/app`);
    await login(page, 'Blog_with_scope', DEMO_PASSWORD);
    assert.match((await page.textContent('body')) ?? '', /"url"/, 'node A: the echo upstream answered');
    await page.goto(`${b.proxyUrl}/app`);
    assert.ok(page.url().startsWith(`${b.proxyUrl}/app`), page.url());
    assert.match((await page.textContent('body')) ?? '', /"url"/, "node B opens node A's cookie (same host, another port)");

    await page.goto(`${d.issuer}/protocol/openid-connect/logout`);
    await page.waitForSelector('#kc-page-title', { timeout: 15_000 });
    const status = async (): Promise<number> => (await context.request.get(`${b.proxyUrl}/app`, { maxRedirects: 0 })).status();
    const ms = await waitFor('node B to end the session', async () => (await status()) === 302, 1000, 10);
    t.diagnostic(`node B ended the session ${Math.round(ms)} ms after the IdP's logout page showed`);
    await page.goto(`${b.proxyUrl}/app`);
    await page.waitForSelector('#username', { timeout: 15_000 });
    const events = await db.query(`SELECT channel FROM "${SCHEMA}".cluster_events`);
    assert.deepEqual(events.rows.map((e) => e.channel), ['openid-connect:logout'], 'the SELECT of the page shows the record');
    await context.close();
  } finally {
    await db.end();
  }
});
