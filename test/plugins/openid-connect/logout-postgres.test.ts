/**
 * Back- and front-channel logout across nodes that share a PostgreSQL and no
 * Redis (issue 17, part 3): two nodes (`portcullis start --workers 2` each,
 * KONG_DATABASE=postgres, a fresh schema of database `test`), one Chromium
 * logged in through node A (127.0.0.1) and, by single sign-on, node B
 * (localhost — its own site and cookie jar).
 *
 * - The IdP's back-channel logout token goes to node A only; node B refuses
 *   the session within 1 s (a cluster event: a kept row + NOTIFY).
 * - Node B's notification connection is cut before the logout: B reads the
 *   kept event back when it reconnects; a node started after the logout
 *   refuses the session too, and accepts a newer one.
 * - Front-channel logout: oidc-provider 9.13 (the demo IdP) has no
 *   front-channel logout, so the test plays the IdP's logout page — a page on
 *   the IdP's site (127.0.0.1) that loads the gateway's front-channel URI in
 *   an iframe with `iss` and `sid` (§3 of the spec). Cross-site (node B on
 *   localhost) the iframe carries no session cookie (SameSite=Lax), and the
 *   `sid` ends the sessions on both nodes; same-site, the cookie alone ends
 *   its session.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import pg from 'pg';
import { browserAvailable, launchBrowser, login, type Browser, type BrowserContext } from '../../helpers/browser.ts';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { DEMO_PASSWORD, decodeJwtPayload, startIdp, type Idp } from '../../helpers/idp.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { waitFor } from '../../helpers/wait.ts';
import { openStore } from '../../../src/store/open.ts';

const skip = browserAvailable() ? false : 'chromium is not installed (/usr/bin/chromium)';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database: 'test' };
const SCHEMA = `logout_fanout_${randomUUID().replaceAll('-', '')}`;
const ENV = { KONG_DATABASE: 'postgres', KONG_PG_HOST: PG.host, KONG_PG_PORT: String(PG.port), KONG_PG_USER: PG.user, KONG_PG_DATABASE: PG.database, KONG_PG_SCHEMA: SCHEMA };
const CLIENT = 'kong-pg-logout';

let db: pg.Client;
let idp: Idp;
let echo: Echo;
let a: ClusterGateway;
let b: ClusterGateway;
let browser: Browser;
let idpPage: Server;
let idpPageUrl: string;
let aUrl: string;
let bUrl: string;
let pluginId: string;
const later: ClusterGateway[] = [];

const storeVersion = async (): Promise<number> => Number((await db.query<{ version: string }>(`SELECT version FROM "${SCHEMA}".config_version`)).rows[0]!.version);
const startNode = (): Promise<ClusterGateway> => startClusterGateway({ workers: 2, env: ENV, storeVersion });

before(async () => {
  if (skip) return;
  db = new pg.Client(PG);
  await db.connect();
  // `portcullis start` refuses a database that was not bootstrapped (Kong's rule): the store's own migration.
  await (await openStore('postgres', { ...PG, schema: SCHEMA })).close();
  [a, b, echo] = await Promise.all([startNode(), startNode(), startEcho()]);
  aUrl = a.proxyUrl;
  bUrl = b.proxyUrl.replace('127.0.0.1', 'localhost');
  idp = await startIdp({
    clients: [{
      client_id: CLIENT,
      client_secret: `${CLIENT}-secret`,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [`${aUrl}/app`, `${bUrl}/app`],
      backchannel_logout_uri: `${aUrl}/app/backchannel-logout`,
      backchannel_logout_session_required: true,
    }],
  });
  // The IdP's logout page, on the IdP's site (127.0.0.1): one iframe per front-channel logout URI.
  idpPage = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>Logging out</title><iframe id="rp" src="${src.replaceAll('&', '&amp;').replaceAll('"', '&quot;')}"></iframe>`);
  });
  await new Promise<void>((r) => idpPage.listen(0, '127.0.0.1', r));
  idpPageUrl = `http://127.0.0.1:${(idpPage.address() as { port: number }).port}/`;

  // One configuration for both nodes: they share the database. No redirect_uri: each node's own URL.
  let r = await a.admin('POST', '/services', { name: 'svc', url: `${echo.url}/anything` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await a.admin('POST', '/services/svc/routes', { name: 'app', paths: ['/app'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await a.admin('POST', '/routes/app/plugins', {
    name: 'openid-connect',
    config: {
      issuer: idp.issuer,
      client_id: [CLIENT],
      client_secret: [`${CLIENT}-secret`],
      auth_methods: ['authorization_code', 'session'],
      backchannel_logout_uri_suffix: '/backchannel-logout',
      frontchannel_logout_uri_suffix: '/frontchannel-logout',
      // The test learns the IdP session id (`sid`) as the upstream sees it.
      upstream_id_token_header: 'x-id-token',
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  pluginId = r.body.id;
  await Promise.all([a.settle(), b.settle()]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await Promise.all([a?.close(), b?.close(), ...later.map((n) => n.close())]);
  await Promise.all([idp?.close(), echo?.close(), new Promise((r) => (idpPage ? idpPage.close(r) : r(null)))]);
  if (db) {
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
  }
});

/** Does the browser's session on `base` still reach the upstream (200) or is it sent to log in (302)? */
async function status(context: BrowserContext, base: string): Promise<number> {
  const res = await context.request.get(`${base}/app`, { maxRedirects: 0 });
  return res.status();
}

/** A browser logged in on node A and, by single sign-on, on node B; the IdP session's `sid`. */
async function loggedIn(): Promise<{ context: BrowserContext; sid: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${aUrl}/app`);
  await login(page, 'Blog_with_scope', DEMO_PASSWORD);
  assert.equal(new URL(page.url()).origin, aUrl);
  await page.goto(`${bUrl}/app`); // single sign-on at the IdP: no form
  assert.equal(new URL(page.url()).origin, bUrl);
  const echoed = (await (await context.request.get(`${aUrl}/app`)).json()) as { headers: Record<string, string> };
  const sid = decodeJwtPayload(echoed.headers['x-id-token']!).sid;
  assert.equal(typeof sid, 'string');
  // Several requests each, over new connections: every worker of each node serves the session.
  for (let i = 0; i < 4; i++) {
    assert.equal(await status(context, aUrl), 200);
    assert.equal(await status(context, bUrl), 200);
  }
  return { context, sid: sid as string };
}

async function logoutEvents(): Promise<number> {
  return Number((await db.query(`SELECT count(*) AS n FROM "${SCHEMA}".cluster_events WHERE channel = 'openid-connect:logout'`)).rows[0].n);
}

/** A logout token signed with the IdP's key (the demo IdP's minter signs any claims; the gateway fetches its JWKS). */
function logoutToken(sid: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return idp.issueAccessToken({
    expiresIn: 120,
    extraClaims: { aud: CLIENT, jti: randomUUID(), sid, sub: undefined, events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, iat: now, exp: now + 120 },
  });
}

describe('back-channel logout through PostgreSQL (no Redis)', { skip }, () => {
  test('one logout at the IdP, token to node A → node B refuses the session within 1 s', async (t) => {
    const { context } = await loggedIn();
    try {
      const before = await logoutEvents();
      const page = await context.newPage();
      await page.goto(idp.endpoints.end_session); // the IdP posts the logout token to node A only
      await page.waitForSelector('#kc-page-title', { timeout: 15_000 });
      const ms = await waitFor('node B to refuse the session', async () => (await status(context, bUrl)) === 302, 1000, 10);
      t.diagnostic(`node B refused the session ${Math.round(ms)} ms after the IdP's logout page showed`);
      assert.equal(await status(context, aUrl), 302);
      assert.equal(await logoutEvents(), before + 1, 'the record went through the cluster_events table');
      for (let i = 0; i < 4; i++) {
        assert.equal(await status(context, aUrl), 302, 'every worker of node A');
        assert.equal(await status(context, bUrl), 302, 'every worker of node B');
      }
    } finally {
      await context.close();
    }
  });

  test("a node whose notification connection was down reads the logout back on reconnect; a node started later refuses the session", async (t) => {
    const { context, sid } = await loggedIn();
    try {
      const listener = `portcullis-listen-${b.pid}`;
      const found = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [listener]);
      assert.equal(found.rows.length, 1, "node B's LISTEN connection");
      const killed = await db.query<{ pid: number }>('SELECT $1::int AS pid, pg_terminate_backend($1) AS ok', [found.rows[0]!.pid]);
      await waitFor('the listener to be gone', async () => (await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [killed.rows[0]!.pid])).rows.length === 0, 5000, 10);

      const res = await fetch(`${aUrl}/app/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: await logoutToken(sid) }) });
      assert.equal(res.status, 200, await res.text());
      assert.equal(await status(context, aUrl), 302);
      const ms = await waitFor('node B to refuse the session after reconnecting', async () => (await status(context, bUrl)) === 302, 5000, 10);
      const rows = await db.query<{ sent: Date; listening: Date }>(
        `SELECT (SELECT max(at) FROM "${SCHEMA}".cluster_events) AS sent, (SELECT backend_start FROM pg_stat_activity WHERE application_name = $1) AS listening`,
        [listener],
      );
      assert.ok(rows.rows[0]!.listening > rows.rows[0]!.sent, 'node B was not listening when the NOTIFY went out: it caught up from the table');
      t.diagnostic(`node B refused the session ${Math.round(ms)} ms after the logout (reconnect after 1 s)`);

      // Node C starts after the logout. Cookies are not port-scoped: the browser sends node A's cookie to C (127.0.0.1).
      const c = await startNode();
      later.push(c);
      assert.equal(await status(context, c.proxyUrl), 302, 'a session created before the logout is refused by a node started after it');
      const fresh = await browser.newContext();
      try {
        const page = await fresh.newPage();
        await page.goto(`${aUrl}/app`);
        await login(page, 'Blog_with_scope', DEMO_PASSWORD);
        assert.equal(await status(fresh, c.proxyUrl), 200, 'control: a newer session (another IdP session) opens on node C');
      } finally {
        await fresh.close();
      }
    } finally {
      await context.close();
    }
  });
});

describe('front-channel logout (the test plays the IdP logout page: oidc-provider 9 has none)', { skip }, () => {
  const frontchannel = (base: string, params: Record<string, string>): string => `${base}/app/frontchannel-logout?${new URLSearchParams(params)}`;

  /** Load `src` in an iframe of a page on the IdP's site; the iframe's request and response. */
  async function iframe(context: BrowserContext, src: string): Promise<{ status: number; headers: Record<string, string>; body: string; cookieSent: boolean }> {
    const page = await context.newPage();
    const [response] = await Promise.all([page.waitForResponse((r) => r.url() === src), page.goto(idpPageUrl + '?src=' + encodeURIComponent(src))]);
    const sent = await response.request().allHeaders();
    const out = { status: response.status(), headers: response.headers(), body: await response.text(), cookieSent: sent.cookie !== undefined };
    await page.close();
    return out;
  }

  test('cross-site iframe with iss and sid: no cookie reaches the gateway, the sid ends the sessions on both nodes within 1 s', async () => {
    const { context, sid } = await loggedIn();
    try {
      const r = await iframe(context, frontchannel(bUrl, { iss: idp.issuer, sid }));
      assert.equal(r.status, 200);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.match(r.headers['content-type'] ?? '', /^text\/html/);
      assert.match(r.body, /Logged out/);
      assert.equal(r.cookieSent, false, 'a cross-site iframe carries no SameSite=Lax cookie');
      await waitFor('node B to refuse the session', async () => (await status(context, bUrl)) === 302, 1000, 10);
      await waitFor('node A to refuse the session', async () => (await status(context, aUrl)) === 302, 1000, 10);
    } finally {
      await context.close();
    }
  });

  test('another issuer is ignored (200, nothing ended); iss without sid, or an oversized sid, is refused (400)', async () => {
    const { context, sid } = await loggedIn();
    try {
      const before = await logoutEvents();
      const other = await iframe(context, frontchannel(bUrl, { iss: 'https://other-idp.example', sid }));
      assert.equal(other.status, 200);
      assert.equal(other.headers['cache-control'], 'no-store');
      const half = await iframe(context, frontchannel(aUrl, { iss: idp.issuer }));
      assert.equal(half.status, 400);
      const long = await iframe(context, frontchannel(aUrl, { iss: idp.issuer, sid: 'x'.repeat(256) }));
      assert.equal(long.status, 400, 'a sid longer than 255 characters');
      assert.equal(await logoutEvents(), before, 'ignored and refused calls write no record');
      for (let i = 0; i < 4; i++) {
        assert.equal(await status(context, aUrl), 200);
        assert.equal(await status(context, bUrl), 200);
      }
    } finally {
      await context.close();
    }
  });

  test('same-site iframe without parameters: the cookie it carries ends that session; with frontchannel_logout_session_required it is refused', async () => {
    const { context } = await loggedIn();
    try {
      const r = await iframe(context, frontchannel(aUrl, {}));
      assert.equal(r.status, 200);
      assert.equal(r.cookieSent, true, 'same site (127.0.0.1): the Lax cookie is sent');
      await waitFor('node A to refuse the session', async () => (await status(context, aUrl)) === 302, 1000, 10);
      // The IdP session's sid was ended with it: node B's session goes too.
      await waitFor('node B to refuse the session', async () => (await status(context, bUrl)) === 302, 1000, 10);
    } finally {
      await context.close();
    }
    const patched = await a.admin('PATCH', `/plugins/${pluginId}`, { config: { frontchannel_logout_session_required: true } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await Promise.all([a.settle(), b.settle()]);
    const second = await loggedIn();
    try {
      const r = await iframe(second.context, frontchannel(aUrl, {}));
      assert.equal(r.status, 400, 'iss and sid are required');
      assert.equal(await status(second.context, aUrl), 200, 'nothing ended');
    } finally {
      await second.context.close();
    }
  });
});
