/**
 * OpenID Connect Back-Channel Logout 1.0 across a cluster, end to end:
 * two nodes (`portcullis start --workers 2` each, their own node state)
 * sharing one Redis; one Chromium logs in through node A (127.0.0.1) and,
 * by single sign-on, node B (localhost — its own cookie jar); the user logs
 * out at the IdP, whose back-channel logout token goes to node A only — and
 * both gateway sessions end within a second. Forged logout tokens are
 * refused with 400 and end nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import { browserAvailable, launchBrowser, login, type Browser, type BrowserContext } from '../../helpers/browser.ts';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { DEMO_PASSWORD, startIdp, type Idp } from '../../helpers/idp.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';

const skip = browserAvailable() ? false : 'chromium is not installed (/usr/bin/chromium)';

let idp: Idp;
let echo: Echo;
let a: ClusterGateway;
let b: ClusterGateway;
let browser: Browser;
let aUrl: string;
let bUrl: string;
const prefix = `bcl-${randomUUID()}:`;

async function configure(gw: ClusterGateway, base: string): Promise<void> {
  let r = await gw.admin('POST', '/services', { name: 'svc', url: `${echo.url}/anything` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', '/services/svc/routes', { name: 'app', paths: ['/app'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', '/routes/app/plugins', {
    name: 'openid-connect',
    config: {
      issuer: idp.issuer,
      client_id: ['kong-bcl'],
      client_secret: ['kong-bcl-secret'],
      auth_methods: ['authorization_code', 'session'],
      redirect_uri: [`${base}/app`],
      session_storage: 'redis',
      redis: { host: '127.0.0.1', port: 6379, prefix },
      backchannel_logout_uri_suffix: '/backchannel-logout',
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await gw.settle();
}

before(async () => {
  if (skip) return;
  [a, b, echo] = await Promise.all([startClusterGateway({ workers: 2 }), startClusterGateway({ workers: 2 }), startEcho()]);
  aUrl = a.proxyUrl;
  bUrl = b.proxyUrl.replace('127.0.0.1', 'localhost');
  idp = await startIdp({
    clients: [{
      client_id: 'kong-bcl',
      client_secret: 'kong-bcl-secret',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [`${aUrl}/app`, `${bUrl}/app`],
      backchannel_logout_uri: `${aUrl}/app/backchannel-logout`,
      backchannel_logout_session_required: true,
    }],
  });
  await Promise.all([configure(a, aUrl), configure(b, bUrl)]);
  await Promise.all([a.waitWorkers(2), b.waitWorkers(2)]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await Promise.all([a?.close(), b?.close()]);
  await Promise.all([idp?.close(), echo?.close()]);
});

/** Does the browser's session on `base` still reach the upstream (200) or is it sent to log in (302)? */
async function status(context: BrowserContext, base: string): Promise<number> {
  const res = await context.request.get(`${base}/app`, { maxRedirects: 0 });
  return res.status();
}

describe('back-channel logout ends the sessions on every node', { skip }, () => {
  test('one logout at the IdP → the sessions on node A and node B both end within 1 s', async (t) => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${aUrl}/app`);
      await login(page, 'Blog_with_scope', DEMO_PASSWORD);
      assert.equal(new URL(page.url()).origin, aUrl);
      await page.goto(`${bUrl}/app`); // single sign-on at the IdP: no form
      assert.equal(new URL(page.url()).origin, bUrl);
      // Several requests each, over new connections: every worker of each node serves the session.
      for (let i = 0; i < 4; i++) {
        assert.equal(await status(context, aUrl), 200);
        assert.equal(await status(context, bUrl), 200);
      }

      // The user signs out at the IdP (its logout page auto-submits); the IdP posts the logout token to node A.
      await page.goto(idp.endpoints.end_session);
      await page.waitForSelector('#kc-page-title', { timeout: 15_000 });
      const loggedOut = Date.now();
      const ended = { a: 0, b: 0 };
      while ((ended.a === 0 || ended.b === 0) && Date.now() - loggedOut < 3000) {
        if (ended.a === 0 && (await status(context, aUrl)) === 302) ended.a = Date.now() - loggedOut;
        if (ended.b === 0 && (await status(context, bUrl)) === 302) ended.b = Date.now() - loggedOut;
      }
      t.diagnostic(`session ended ${ended.a} ms (node A, received the token) and ${ended.b} ms (node B, via Redis) after the IdP logout completed`);
      assert.ok(ended.a > 0 && ended.a < 1000, `node A session ended after ${ended.a} ms`);
      assert.ok(ended.b > 0 && ended.b < 1000, `node B session ended after ${ended.b} ms`);
      // And it stays ended, on every worker.
      for (let i = 0; i < 4; i++) {
        assert.equal(await status(context, aUrl), 302);
        assert.equal(await status(context, bUrl), 302);
      }
    } finally {
      await context.close();
    }
  });
});

describe('hostile logout tokens are refused (400)', { skip }, () => {
  async function post(body: Record<string, string>): Promise<{ status: number; body: any }> {
    const res = await fetch(`${aUrl}/app/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  async function forged(claims: Record<string, unknown>): Promise<string> {
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: idp.issuer, aud: 'kong-bcl', iat: now, exp: now + 120, jti: randomUUID(), sid: 'x', events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, ...claims })
      .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt' }).sign(privateKey);
  }

  test('no token, garbage, a token not signed by the IdP, alg none', async () => {
    assert.equal((await post({})).status, 400);
    assert.equal((await post({ logout_token: 'garbage' })).status, 400);
    const r = await post({ logout_token: await forged({}) });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    assert.equal((await post({ logout_token: `${b64({ alg: 'none' })}.${b64({ iss: idp.issuer, aud: 'kong-bcl', sid: 'x' })}.` })).status, 400);
  });

  test('IdP-signed tokens with a nonce, a wrong aud, no events, no sid/sub, or replayed are refused', async () => {
    const sign = (claims: Record<string, unknown>) => idpLogoutToken(claims);
    const ok = await sign({});
    assert.equal((await post({ logout_token: await sign({ nonce: 'n' }) })).status, 400, 'nonce');
    assert.equal((await post({ logout_token: await sign({ aud: 'someone-else' }) })).status, 400, 'aud');
    assert.equal((await post({ logout_token: await sign({ events: {} }) })).status, 400, 'events');
    assert.equal((await post({ logout_token: await sign({ sid: undefined, sub: undefined }) })).status, 400, 'sid/sub');
    assert.equal((await post({ logout_token: ok })).status, 200, 'control: a correct token is accepted');
    assert.equal((await post({ logout_token: ok })).status, 400, 'replayed jti');
  });
});

/** A logout token signed with the IdP's current key (the demo IdP's minter signs any claims; the gateway fetches its JWKS). */
async function idpLogoutToken(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const base = { aud: 'kong-bcl', jti: randomUUID(), sid: `sid-${randomUUID()}`, events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, iat: now };
  // issueAccessToken signs arbitrary claims with the IdP's key; expiresIn 0 skips the provider-side token.
  const merged: Record<string, unknown> = { ...base, ...claims };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return idp.issueAccessToken({ expiresIn: 120, extraClaims: { ...merged, sub: merged.sub, exp: now + 120 } });
}
