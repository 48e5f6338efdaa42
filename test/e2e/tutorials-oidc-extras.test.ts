/**
 * Tutorials 6–9 (docs/tutorials/06-token-exchange.md, 07-browser-vs-api.md,
 * 08-par.md, 09-consumer-groups.md), step by step, against `npm run demo`
 * as a reader starts it (its own process group, free ports passed with the
 * demo's --*-port flags). Each page's Admin API calls are made with the same
 * JSON the page shows; each page's observable claims are asserted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { freePorts } from '../helpers/ports.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserAvailable, launchBrowser, login, type Browser } from '../helpers/browser.ts';
import { decodeJwtPayload, DEMO_PASSWORD } from '../helpers/idp.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE_BIN_DIR = join(REPO, 'node_modules', '.bin');
const skipBrowser = browserAvailable() ? false : 'chromium is not installed (/usr/bin/chromium)';

let child: ChildProcess;
let out = '';
let idpPort = 0;
let proxyPort = 0;
let adminPort = 0;
let issuer = '';
let proxy = '';

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/** `http -f POST :8001/services/openidconnect/routes name=… paths=…` + `http POST :8001/routes/…/plugins …` */
async function route(name: string, path: string, plugins: Array<{ name: string; config: Record<string, unknown> }>): Promise<void> {
  const r = await admin('POST', '/services/openidconnect/routes', { name, paths: [path] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (const p of plugins) {
    const pr = await admin('POST', `/routes/${name}/plugins`, p);
    assert.equal(pr.status, 201, JSON.stringify(pr.body));
  }
  // The demo's single worker applies a change within its reload interval: wait until the route answers.
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${proxy}${path}`, { redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status !== 404) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`route ${path} never became active`);
}

async function passwordToken(username: string, scope?: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'password', client_id: 'kong', client_secret: 'kong-secret', username, password: DEMO_PASSWORD });
  if (scope !== undefined) form.set('scope', scope);
  const res = await fetch(`${issuer}/protocol/openid-connect/token`, { method: 'POST', body: form });
  const body = (await res.json()) as { access_token: string };
  assert.equal(res.status, 200);
  return body.access_token;
}

/** curl -si with exactly these headers. */
function curl(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxy}${path}`, { headers: { accept: '*/*', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  const [idp, echo, px, ad] = await freePorts(4);
  idpPort = idp!;
  proxyPort = px!;
  adminPort = ad!;
  issuer = `http://127.0.0.1:${idpPort}/realms/demo`;
  proxy = `http://localhost:${proxyPort}`;
  child = spawn('npm', ['run', 'demo', '--', '--idp-port', String(idpPort), '--echo-port', String(echo), '--proxy-port', String(proxyPort), '--admin-port', String(adminPort)], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${NODE_BIN_DIR}:${process.env.PATH ?? ''}`, NO_COLOR: '1' },
  });
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const deadline = Date.now() + 60_000;
  while (!/Open in a browser:/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the demo did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  if (child?.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGINT');
  } catch {
    return;
  }
  await exited;
});

describe('tutorial 6: token exchange', () => {
  test('the upstream receives the exchanged token; a second call reuses it; a narrower token is refused (401)', async () => {
    await route('exchangeRoute', '/exchange', [{
      name: 'openid-connect',
      config: {
        issuer, client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'],
        token_exchange: {
          subject_token_issuers: [{ issuer, conditions: { missing_audience: ['orders-api'] } }],
          request: { audience: ['orders-api'], scopes: ['openid', 'email'] },
        },
      },
    }]);
    const token = await passwordToken('Blog_with_scope', 'openid email');
    const first = await curl('/exchange', { authorization: `Bearer ${token}` });
    assert.equal(first.status, 200, first.body);
    const sent = (JSON.parse(first.body).headers.authorization as string).slice(7);
    assert.notEqual(sent, token);
    assert.deepEqual(decodeJwtPayload(token).aud, ['kong', 'account']);
    assert.equal(decodeJwtPayload(sent).aud, 'orders-api');
    assert.equal(decodeJwtPayload(sent).preferred_username, 'Blog_with_scope');
    const second = await curl('/exchange', { authorization: `Bearer ${token}` });
    assert.equal(JSON.parse(second.body).headers.authorization, `Bearer ${sent}`);
    const narrow = await passwordToken('Blog_with_scope', 'openid');
    assert.equal((await curl('/exchange', { authorization: `Bearer ${narrow}` })).status, 401);
  });
});

describe('tutorial 7: browser vs API callers', () => {
  before(() =>
    route('appRoute', '/app', [{
      name: 'openid-connect',
      config: { issuer, client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['authorization_code', 'session'], redirect_api_callers: false },
    }]),
  );

  test('curl with X-Requested-With or Accept: application/json: 401 + WWW-Authenticate; plain curl: 302 to the IdP', async () => {
    const xhr = await curl('/app', { 'x-requested-with': 'XMLHttpRequest' });
    assert.equal(xhr.status, 401);
    assert.equal(xhr.headers['www-authenticate'], 'Bearer realm="127.0.0.1", error="invalid_token"');
    assert.deepEqual(JSON.parse(xhr.body), { message: 'Unauthorized' });
    assert.equal((await curl('/app', { accept: 'application/json' })).status, 401);
    const page = await curl('/app');
    assert.equal(page.status, 302);
    assert.ok(String(page.headers.location).startsWith(`${issuer}/protocol/openid-connect/auth?response_type=code&`));
  });

  test('in a browser: the console fetch gets 401, then after login 200', { skip: skipBrowser }, async () => {
    const browser: Browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${proxy}/`);
      assert.equal(await page.evaluate(() => fetch('/app').then((r) => r.status)), 401);
      await page.goto(`${proxy}/app`);
      await login(page, 'Blog_with_scope', DEMO_PASSWORD);
      await page.goto(`${proxy}/`);
      assert.equal(await page.evaluate(() => fetch('/app').then((r) => r.status)), 200);
    } finally {
      await browser.close();
    }
  });
});

describe('tutorial 8: pushed authorization requests', () => {
  test('the redirect carries only client_id and request_uri; a browser logs in; without PAR the IdP refuses', async () => {
    await route('parRoute', '/par', [{
      name: 'openid-connect',
      config: { issuer, client_id: ['kong-par'], client_secret: ['kong-par-secret'], auth_methods: ['authorization_code', 'session'], require_pushed_authorization_requests: true },
    }]);
    const r = await curl('/par');
    assert.equal(r.status, 302);
    const loc = new URL(String(r.headers.location));
    assert.equal(`${loc.origin}${loc.pathname}`, `${issuer}/protocol/openid-connect/auth`);
    assert.deepEqual([...loc.searchParams.keys()], ['client_id', 'request_uri']);

    if (skipBrowser === false) {
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        await page.goto(`${proxy}/par`);
        await login(page, 'Blog_with_scope', DEMO_PASSWORD);
        const echoed = JSON.parse((await page.textContent('body')) ?? 'null') as { headers: Record<string, string> };
        assert.match(echoed.headers.authorization ?? '', /^Bearer ey/);
      } finally {
        await browser.close();
      }
    }

    // The control case, with the page's PATCH.
    const plugins = await admin('GET', '/routes/parRoute/plugins');
    const patched = await admin('PATCH', `/plugins/${plugins.body.data[0].id as string}`, { config: { require_pushed_authorization_requests: false } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    let plain = '';
    for (let i = 0; i < 100 && !plain.includes('response_type='); i++) {
      plain = String((await curl('/par')).headers.location);
      if (!plain.includes('response_type=')) await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(plain.includes('response_type=code'), plain);
    const idp = await fetch(plain, { redirect: 'manual' });
    assert.match(String(idp.headers.get('location')), /Pushed\+Authorization\+Request\+must\+be\+used/);
  });
});

describe('tutorial 9: consumer groups from the IdP', () => {
  test('acl by IdP group with no consumer: 200 for Blog_with_scope, 403 for Blog_without_scope; then blog_readers passes too', async () => {
    assert.equal((await admin('POST', '/consumer_groups', { name: 'kong_api_access' })).status, 201);
    await route('groupsRoute', '/groups', [
      {
        name: 'openid-connect',
        config: { issuer, client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'], consumer_groups_claim: ['groups'], consumer_groups_optional: true },
      },
      { name: 'acl', config: { allow: ['kong_api_access'], include_consumer_groups: true } },
    ]);
    const a = await passwordToken('Blog_with_scope');
    const b = await passwordToken('Blog_without_scope');
    assert.equal((await curl('/groups', { authorization: `Bearer ${a}` })).status, 200);
    const denied = await curl('/groups', { authorization: `Bearer ${b}` });
    assert.equal(denied.status, 403);
    assert.equal(JSON.parse(denied.body).message, 'You cannot consume this service');
    assert.deepEqual((await admin('GET', '/consumers')).body.data, []);

    assert.equal((await admin('POST', '/consumer_groups', { name: 'blog_readers' })).status, 201);
    const acl = (await admin('GET', '/routes/groupsRoute/plugins')).body.data.find((p: { name: string }) => p.name === 'acl');
    assert.equal((await admin('PATCH', `/plugins/${acl.id as string}`, { config: { allow: ['kong_api_access', 'blog_readers'] } })).status, 200);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await curl('/groups', { authorization: `Bearer ${b}` })).status;
      if (status !== 200) await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(status, 200);

    // Rate limits by IdP group: 3 a minute for blog_readers, 100 for kong_api_access.
    let r = await admin('POST', '/consumer_groups/blog_readers/plugins', { name: 'rate-limiting', config: { minute: 3 } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await admin('POST', '/consumer_groups/kong_api_access/plugins', { name: 'rate-limiting', config: { minute: 100 } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    // Both arrive in one configuration or the readers' first: once the API user's limit shows, the readers' holds.
    let limitA: unknown;
    for (let i = 0; i < 100 && limitA !== '100'; i++) {
      limitA = (await curl('/groups', { authorization: `Bearer ${a}` })).headers['x-ratelimit-limit-minute'];
      if (limitA !== '100') await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(limitA, '100');
    // Four requests inside one minute window.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 10_000) await new Promise((res) => setTimeout(res, left + 50));
    const readers: Array<[number, unknown]> = [];
    let last = { status: 0, body: '' };
    for (let i = 0; i < 4; i++) {
      const res = await curl('/groups', { authorization: `Bearer ${b}` });
      readers.push([res.status, res.headers['x-ratelimit-limit-minute']]);
      last = res;
    }
    assert.deepEqual(readers, [[200, '3'], [200, '3'], [200, '3'], [429, '3']]);
    assert.equal(JSON.parse(last.body).message, 'API rate limit exceeded');
    const api = await curl('/groups', { authorization: `Bearer ${a}` });
    assert.equal(api.status, 200);
    assert.equal(api.headers['x-ratelimit-limit-minute'], '100');
    assert.deepEqual((await admin('GET', '/consumers')).body.data, [], 'still nobody was created');
  });
});
