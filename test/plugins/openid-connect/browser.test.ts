/**
 * The walkthrough, word for word, in a real browser (Chromium via
 * playwright-core) against the real IdP and a real upstream:
 *
 *   http POST :8001/services name=openidconnect url=<echo>/anything
 *   http -f POST :8001/services/openidconnect/routes name=openidconnectRoute paths=/oidc
 *   http -f POST :8001/routes/openidconnectRoute/plugins name=openid-connect \
 *     config.issuer=<idp> config.client_id=kong config.client_secret=kong-secret \
 *     config.redirect_uri=<proxy>/oidc config.consumer_optional=true \
 *     config.scopes_required=kong_api_access
 *
 * then: login redirect, the upstream sees `Authorization: Bearer <access
 * token>`, the next request rides the session cookie, a user without the
 * scope gets 403 and the log line; plus logout, session refresh and expiry,
 * the second-tab case and the form_post response mode.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { browserAvailable, launchBrowser, login, type Browser, type Page } from '../../helpers/browser.ts';
import { decodeJwtPayload, DEMO_PASSWORD } from '../../helpers/idp.ts';
import { startOidcEnv, type OidcEnv } from './env.ts';

const skip = browserAvailable() ? false : 'chromium is not installed (/usr/bin/chromium)';
const AUTH = '/protocol/openid-connect/auth';

let env: OidcEnv;
let browser: Browser;

async function form(url: string, fields: Record<string, string>): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  return { status: res.status, body: await res.json() };
}

/** Does a Cookie header carry the gateway's session (or authorization) cookie? (The IdP's own cookies share the host.) */
function hasSessionCookie(header: unknown): boolean {
  return String(header ?? '')
    .split(';')
    .map((p) => p.trim().split('=')[0])
    .some((n) => n !== undefined && (/^session[2-9]?$/.test(n) || n === 'authorization'));
}

/** The echo upstream's JSON as the browser shows it. */
async function echoed(page: Page): Promise<any> {
  return JSON.parse((await page.textContent('body')) ?? 'null');
}

before(async () => {
  if (skip) return;
  env = await startOidcEnv({ idp: { accessTokenTtl: 300 } });
  browser = await launchBrowser();
  const admin = env.gw.adminUrl;
  // The walkthrough's three Admin API calls (httpie -f = form-encoded).
  let r = await fetch(`${admin}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'openidconnect', url: `${env.echo.url}/anything` }) });
  assert.equal(r.status, 201);
  assert.equal((await form(`${admin}/services/openidconnect/routes`, { name: 'openidconnectRoute', paths: '/oidc' })).status, 201);
  const p = await form(`${admin}/routes/openidconnectRoute/plugins`, {
    name: 'openid-connect',
    'config.issuer': env.idp.issuer,
    'config.client_id': 'kong',
    'config.client_secret': 'kong-secret',
    'config.redirect_uri': `${env.gw.proxyUrl}/oidc`,
    'config.consumer_optional': 'true',
    'config.scopes_required': 'kong_api_access',
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  await env.gw.settle();
});

after(async () => {
  await browser?.close();
  await env?.close();
});

describe('the walkthrough', { skip }, () => {
  test('Blog_with_scope logs in at the IdP and reaches the upstream with Authorization: Bearer <access token>; the next request rides the session cookie', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${env.gw.proxyUrl}/oidc`);
      assert.ok(page.url().startsWith(env.idp.issuer), `sent to the IdP login page, got ${page.url()}`);
      await login(page, 'Blog_with_scope', DEMO_PASSWORD);
      const first = await echoed(page);
      const auth = first.headers.authorization as string;
      assert.match(auth, /^Bearer ey/);
      assert.equal(decodeJwtPayload(auth.slice(7)).preferred_username, 'Blog_with_scope');
      assert.deepEqual(first.args, {}, 'code and state are not forwarded');
      assert.equal(hasSessionCookie(first.headers.cookie), false, 'the session cookie never reaches the upstream');

      const logins = env.idp.requestCount(AUTH);
      await page.goto(`${env.gw.proxyUrl}/oidc?page=2`);
      const second = await echoed(page);
      assert.equal(env.idp.requestCount(AUTH), logins, 'no new login');
      assert.equal(second.headers.authorization, auth);
      assert.deepEqual(second.args, { page: '2' });
      assert.equal(hasSessionCookie(second.headers.cookie), false);

      // A program without the browser's cookie gets a decision, not a redirect, with the same token.
      const api = await env.call('/oidc', { headers: { authorization: auth } });
      assert.equal(api.status, 200);
    } finally {
      await context.close();
    }
  });

  test('Blog_without_scope gets 403 and the gateway logs "required scopes were not found"', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${env.gw.proxyUrl}/oidc`);
      const [response] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(`${env.gw.proxyUrl}/oidc`) && r.status() !== 302, { timeout: 15_000 }), login(page, 'Blog_without_scope', DEMO_PASSWORD)]);
      assert.equal(response.status(), 403);
      assert.deepEqual(await response.json(), { message: 'Forbidden' });
      const lines = env.gw.logs.find('required scopes were not found');
      assert.ok(lines.length > 0);
      assert.match(String(lines.at(-1)!.msg), /required scopes were not found \[ .*openid.* \]/);
    } finally {
      await context.close();
    }
  });
});

describe('sessions and logout', { skip }, () => {
  before(async () => {
    if (skip) return;
    await env.protect('app', {
      client_id: ['kong'],
      client_secret: ['kong-secret'],
      logout_query_arg: 'logout',
      logout_redirect_uri: ['http://127.0.0.1:8000/'],
      logout_revoke: true,
      upstream_id_token_header: 'x-id-token',
    });
    await env.protect('short', { client_id: ['kong'], client_secret: ['kong-secret'], session_absolute_timeout: 3 });
    await env.protect('refreshing', { client_id: ['kong'], client_secret: ['kong-secret'], leeway: 299 });
    await env.protect('formpost', { client_id: ['kong'], client_secret: ['kong-secret'], response_mode: 'form_post', preserve_query_args: true });
    await env.protect('respond', { client_id: ['kong'], client_secret: ['kong-secret'], login_action: 'response', login_tokens: ['id_token', 'access_token'] });
    await env.protect('land', { client_id: ['kong'], client_secret: ['kong-secret'], login_action: 'redirect', login_redirect_mode: 'query', login_redirect_uri: [`${env.echo.url}/anything/landing?from=login`] });
  });

  async function loggedIn(path: string): Promise<{ page: Page; close: () => Promise<void> }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${env.gw.proxyUrl}${path}`);
    await login(page, 'Blog_with_scope', DEMO_PASSWORD);
    return { page, close: () => context.close() };
  }

  test('logout destroys the gateway session and sends the browser to the end session endpoint with id_token_hint', async () => {
    const { page, close } = await loggedIn('/app');
    try {
      const before = await echoed(page);
      assert.match(before.headers['x-id-token'] as string, /^ey/);
      const res = await page.request.post(`${env.gw.proxyUrl}/app?logout`, { maxRedirects: 0 });
      assert.equal(res.status(), 302);
      const location = new URL(res.headers()['location']!);
      assert.equal(location.origin + location.pathname, env.idp.endpoints.end_session);
      assert.equal(location.searchParams.get('id_token_hint'), before.headers['x-id-token']);
      assert.equal(location.searchParams.get('post_logout_redirect_uri'), 'http://127.0.0.1:8000/');
      assert.equal(location.searchParams.get('client_id'), 'kong');
      assert.match(res.headers()['set-cookie'] ?? '', /session=;/);
      const after = await page.request.get(`${env.gw.proxyUrl}/app`, { maxRedirects: 0 });
      assert.equal(after.status(), 302, 'no session any more: back to the IdP');
      assert.ok(after.headers()['location']!.startsWith(env.idp.endpoints.authorization));
    } finally {
      await close();
    }
  });

  test('logout without a session still answers (204 without an end session endpoint is covered by the IdP redirect here)', async () => {
    const r = await env.call('/app?logout', { method: 'DELETE' });
    assert.equal(r.status, 302);
  });

  test('a session past session_absolute_timeout sends the browser back to the IdP', async () => {
    const { page, close } = await loggedIn('/short');
    try {
      assert.match((await echoed(page)).headers.authorization as string, /^Bearer /);
      await sleep(4000);
      const res = await page.request.get(`${env.gw.proxyUrl}/short`, { maxRedirects: 0 });
      assert.equal(res.status(), 302);
      assert.ok(res.headers()['location']!.startsWith(env.idp.endpoints.authorization));
    } finally {
      await close();
    }
  });

  test('an access token inside the refresh leeway is refreshed with the refresh token; the session carries the new one', async () => {
    const { page, close } = await loggedIn('/refreshing');
    try {
      const first = (await echoed(page)).headers.authorization as string;
      await sleep(1100);
      await page.goto(`${env.gw.proxyUrl}/refreshing`);
      const second = (await echoed(page)).headers.authorization as string;
      assert.notEqual(second, first, 'a new access token');
      assert.equal(decodeJwtPayload(second.slice(7)).preferred_username, 'Blog_with_scope');
    } finally {
      await close();
    }
  });

  test('a second tab opened during login restarts the flow with the same state instead of failing', async () => {
    const context = await browser.newContext();
    try {
      // Tab 1 starts the login (the authorization cookie is set) …
      const start = await context.request.get(`${env.gw.proxyUrl}/app?tab=1`, { maxRedirects: 0 });
      assert.equal(start.status(), 302);
      const state1 = new URL(start.headers()['location']!).searchParams.get('state');
      assert.ok(state1);
      // … tab 2 hits the protected URL without a state: same flow, same state.
      const res = await context.request.get(`${env.gw.proxyUrl}/app?tab=2`, { maxRedirects: 0 });
      assert.equal(res.status(), 302);
      assert.equal(new URL(res.headers()['location']!).searchParams.get('state'), state1);
      const tab1 = await context.newPage();
      await tab1.goto(start.headers()['location']!);
      await login(tab1, 'Blog_with_scope', DEMO_PASSWORD);
      assert.match((await echoed(tab1)).headers.authorization as string, /^Bearer /);
    } finally {
      await context.close();
    }
  });

  test('response_mode form_post: the IdP posts back to the protected URL; code and state never reach the upstream; the original query is preserved', async () => {
    const { page, close } = await loggedIn('/formpost?keep=me');
    try {
      const reply = await echoed(page);
      assert.match(reply.headers.authorization as string, /^Bearer /);
      assert.deepEqual(reply.args, { keep: 'me' });
      assert.equal(JSON.stringify(reply.form).includes('code'), false);
    } finally {
      await close();
    }
  });

  test('login_action redirect sends the browser to login_redirect_uri with the login tokens in the query', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${env.gw.proxyUrl}/land`);
      await login(page, 'Blog_with_scope', DEMO_PASSWORD);
      assert.ok(page.url().startsWith(`${env.echo.url}/anything/landing?from=login&id_token=`), page.url());
      const reply = await echoed(page);
      assert.equal(decodeJwtPayload(reply.args.id_token as string).preferred_username, 'Blog_with_scope');
    } finally {
      await context.close();
    }
  });

  test('login_action response answers the login itself with the configured tokens', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${env.gw.proxyUrl}/respond`);
      await login(page, 'Blog_with_scope', DEMO_PASSWORD);
      const body = JSON.parse((await page.textContent('body')) ?? '{}') as Record<string, string>;
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'id_token']);
    } finally {
      await context.close();
    }
  });
});
