/**
 * The shared OpenID Provider fixture behaves like the Keycloak realm of Kong's
 * walkthrough: what the openid-connect plugin tests and the demo rely on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader, SignJWT, importJWK } from 'jose';
import { startIdp, passwordGrant, decodeJwtPayload, DEMO_PASSWORD, type Idp } from '../helpers/idp.ts';
import { launchBrowser, login, browserAvailable, type Browser } from '../helpers/browser.ts';

let idp: Idp;

before(async () => {
  idp = await startIdp();
});

after(async () => {
  await idp.close();
});

const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = (o: Record<string, string>): URLSearchParams => new URLSearchParams(o);

async function postForm(url: string, body: Record<string, string>, auth?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth !== undefined) headers.authorization = auth;
  const res = await fetch(url, { method: 'POST', headers, body: form(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function jwks(): Promise<ReturnType<typeof createLocalJWKSet>> {
  const res = await fetch(idp.endpoints.jwks);
  return createLocalJWKSet((await res.json()) as { keys: [] });
}

function assertKeycloakClaims(claims: Record<string, unknown>, username: string): void {
  assert.equal(claims.iss, idp.issuer);
  assert.equal(claims.typ, 'Bearer');
  assert.equal(claims.azp, 'kong');
  assert.equal(claims.preferred_username, username);
  assert.equal(typeof claims.email, 'string');
  assert.equal(typeof claims.sub, 'string');
  assert.equal(typeof claims.jti, 'string');
  assert.equal(typeof claims.sid, 'string');
  assert.equal(typeof claims.exp, 'number');
  assert.equal(typeof claims.iat, 'number');
  assert.ok(Array.isArray(claims.aud) && claims.aud.includes('account') && claims.aud.includes('kong'));
  assert.ok(Array.isArray((claims.realm_access as { roles: unknown }).roles));
  assert.ok(Array.isArray(claims.groups));
}

test('discovery document has the Keycloak issuer shape and every endpoint the plugin uses', async () => {
  assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+\/realms\/demo$/);
  const res = await fetch(idp.discoveryUrl);
  assert.equal(res.status, 200);
  const d = (await res.json()) as Record<string, unknown>;
  assert.equal(d.issuer, idp.issuer);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'userinfo_endpoint', 'end_session_endpoint', 'jwks_uri']) {
    assert.equal(typeof d[k], 'string', k);
    assert.ok((d[k] as string).startsWith(`${idp.issuer}/protocol/openid-connect/`), k);
  }
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  assert.ok((d.grant_types_supported as string[]).includes('password'));
  assert.ok((d.grant_types_supported as string[]).includes('client_credentials'));
  assert.ok((d.scopes_supported as string[]).includes('kong_api_access'));
});

test('password grant gives Blog_with_scope an RS256 JWT access token with kong_api_access and Keycloak claims', async () => {
  const t = await passwordGrant(idp, 'Blog_with_scope', DEMO_PASSWORD);
  assert.equal(t.token_type, 'Bearer');
  assert.equal(typeof t.refresh_token, 'string');
  assert.equal(typeof t.id_token, 'string');
  assert.equal(decodeProtectedHeader(t.access_token).alg, 'RS256');
  const { payload } = await jwtVerify(t.access_token, await jwks(), { issuer: idp.issuer });
  assertKeycloakClaims(payload, 'Blog_with_scope');
  assert.ok(String(payload.scope).split(' ').includes('kong_api_access'));
  assert.ok(String(payload.scope).split(' ').includes('openid'));
  assert.ok((payload.realm_access as { roles: string[] }).roles.includes('kong_api_access'));
  assert.equal(t.scope, payload.scope);
});

test('Blog_without_scope never gets kong_api_access, even when asking for it', async () => {
  const t = await passwordGrant(idp, 'Blog_without_scope', DEMO_PASSWORD, { scope: 'openid kong_api_access' });
  const claims = decodeJwtPayload(t.access_token);
  assertKeycloakClaims(claims, 'Blog_without_scope');
  assert.ok(!String(claims.scope).split(' ').includes('kong_api_access'));
});

test('a wrong password is refused with invalid_grant', async () => {
  const r = await postForm(idp.endpoints.token, { grant_type: 'password', username: 'Blog_with_scope', password: 'nope' }, basic('kong', 'kong-secret'));
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'invalid_grant');
});

test('client credentials (basic or post) give a service-account JWT', async () => {
  const viaPost = await postForm(idp.endpoints.token, { grant_type: 'client_credentials', client_id: 'service-client', client_secret: 'service-secret' });
  assert.equal(viaPost.status, 200);
  const viaBasic = await postForm(idp.endpoints.token, { grant_type: 'client_credentials' }, basic('kong', 'kong-secret'));
  assert.equal(viaBasic.status, 200);
  const { payload } = await jwtVerify(viaPost.json.access_token as string, await jwks(), { issuer: idp.issuer });
  assert.equal(payload.azp, 'service-client');
  assert.equal(payload.preferred_username, 'service-account-service-client');
  assert.equal(payload.client_id, 'service-client');
  const wrong = await postForm(idp.endpoints.token, { grant_type: 'client_credentials' }, basic('kong', 'bad'));
  assert.equal(wrong.status, 401);
});

test('refresh grant rotates the refresh token and returns a new JWT access token', async () => {
  const t = await passwordGrant(idp, 'Blog_with_scope', DEMO_PASSWORD);
  const r = await postForm(idp.endpoints.token, { grant_type: 'refresh_token', refresh_token: t.refresh_token as string }, basic('kong', 'kong-secret'));
  assert.equal(r.status, 200);
  assert.notEqual(r.json.refresh_token, t.refresh_token);
  const claims = decodeJwtPayload(r.json.access_token as string);
  assertKeycloakClaims(claims, 'Blog_with_scope');
  const reuse = await postForm(idp.endpoints.token, { grant_type: 'refresh_token', refresh_token: t.refresh_token as string }, basic('kong', 'kong-secret'));
  assert.equal(reuse.status, 400);
});

test('introspection (RFC 7662) says a JWT access token is active, with its claims; revocation (RFC 7009) ends it', async () => {
  const t = await passwordGrant(idp, 'Blog_with_scope', DEMO_PASSWORD);
  const i = await postForm(idp.endpoints.introspection, { token: t.access_token, token_type_hint: 'access_token' }, basic('kong', 'kong-secret'));
  assert.equal(i.status, 200);
  assert.equal(i.json.active, true);
  assert.equal(i.json.username, 'Blog_with_scope');
  assert.equal(i.json.client_id, 'kong');
  assert.ok(String(i.json.scope).includes('kong_api_access'));
  const u = await fetch(idp.endpoints.userinfo, { headers: { authorization: `Bearer ${t.access_token}` } });
  assert.equal(u.status, 200);
  assert.equal(((await u.json()) as Record<string, unknown>).preferred_username, 'Blog_with_scope');

  const rv = await postForm(idp.endpoints.revocation, { token: t.access_token, token_type_hint: 'access_token' }, basic('kong', 'kong-secret'));
  assert.equal(rv.status, 200);
  const after = await postForm(idp.endpoints.introspection, { token: t.access_token }, basic('kong', 'kong-secret'));
  assert.deepEqual(after.json, { active: false });
  const u2 = await fetch(idp.endpoints.userinfo, { headers: { authorization: `Bearer ${t.access_token}` } });
  assert.equal(u2.status, 401);
});

test('introspection of a forged or unknown token says inactive', async () => {
  const t = await passwordGrant(idp, 'Blog_with_scope', DEMO_PASSWORD);
  const [h, p] = t.access_token.split('.');
  const forged = `${h}.${p}.${Buffer.from('not-the-signature').toString('base64url')}`;
  for (const token of [forged, 'garbage', t.refresh_token as string]) {
    const r = await postForm(idp.endpoints.introspection, { token, token_type_hint: 'access_token', client_id: 'kong', client_secret: 'kong-secret' });
    assert.equal(r.status, 200);
    if (token === t.refresh_token) continue; // refresh tokens are introspectable, fine either way
    assert.deepEqual(r.json, { active: false });
  }
});

test('issueAccessToken mints introspectable tokens for bearer tests, including expired ones', async () => {
  const token = await idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid', extraClaims: { custom: 'x' } });
  const { payload } = await jwtVerify(token, await jwks(), { issuer: idp.issuer });
  assertKeycloakClaims(payload, 'Blog_with_scope');
  assert.equal(payload.custom, 'x');
  const i = await postForm(idp.endpoints.introspection, { token }, basic('kong', 'kong-secret'));
  assert.equal(i.json.active, true);
  assert.equal(i.json.custom, 'x');

  const expired = await idp.issueAccessToken({ username: 'Blog_with_scope', expiresIn: -60 });
  await assert.rejects(jwtVerify(expired, await jwks(), { issuer: idp.issuer }), /exp/);
  const audOnly = decodeJwtPayload(await idp.issueAccessToken({ sub: 'machine-1', aud: 'other' }));
  assert.equal(audOnly.aud, 'other');
  assert.equal(audOnly.sub, 'machine-1');
});

test('key rotation publishes a new kid that signs new tokens; the old key stays until dropped', async () => {
  const before = await passwordGrant(idp, 'Blog_with_scope', DEMO_PASSWORD);
  const oldKid = decodeProtectedHeader(before.access_token).kid;
  assert.equal(oldKid, idp.currentKid());
  await idp.rotateSigningKey();
  const newKid = idp.currentKid();
  assert.notEqual(newKid, oldKid);

  const set = (await (await fetch(idp.endpoints.jwks)).json()) as { keys: Array<{ kid: string; d?: string }> };
  assert.deepEqual(new Set(set.keys.map((k) => k.kid)), new Set([oldKid, newKid]));
  assert.ok(set.keys.every((k) => k.d === undefined), 'no private parts published');

  const afterRotation = await passwordGrant(idp, 'Blog_with_scope', DEMO_PASSWORD);
  assert.equal(decodeProtectedHeader(afterRotation.access_token).kid, newKid);
  assert.equal(decodeProtectedHeader(afterRotation.id_token as string).kid, newKid);
  // Tokens signed before the rotation still verify and introspect.
  await jwtVerify(before.access_token, await jwks(), { issuer: idp.issuer });
  const i = await postForm(idp.endpoints.introspection, { token: before.access_token }, basic('kong', 'kong-secret'));
  assert.equal(i.json.active, true);

  await idp.dropOldKeys();
  const after = (await (await fetch(idp.endpoints.jwks)).json()) as { keys: Array<{ kid: string }> };
  assert.deepEqual(after.keys.map((k) => k.kid), [newKid]);
  await assert.rejects(jwtVerify(before.access_token, await jwks(), { issuer: idp.issuer }));
});

test('an outage answers 503 on every endpoint, and the IdP recovers', async () => {
  await idp.setDown(true);
  const res = await fetch(idp.discoveryUrl);
  assert.equal(res.status, 503);
  await res.arrayBuffer();
  await idp.setDown(false);
  const ok = await fetch(idp.discoveryUrl);
  assert.equal(ok.status, 200);
  await ok.arrayBuffer();

  await idp.setDown(true, 'refuse');
  await assert.rejects(fetch(idp.discoveryUrl));
  await idp.setDown(false);
  const back = await fetch(idp.discoveryUrl);
  assert.equal(back.status, 200);
  await back.arrayBuffer();
});

test('private_key_jwt client authenticates with a signed assertion', async () => {
  const c = idp.testClients.privateKeyJwt;
  const key = await importJWK(c.privateJwk, 'RS256');
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: c.privateJwk.kid })
    .setIssuer(c.client_id).setSubject(c.client_id).setAudience(idp.issuer)
    .setJti(randomBytes(8).toString('hex')).setIssuedAt().setExpirationTime('1m')
    .sign(key);
  const r = await postForm(idp.endpoints.token, {
    grant_type: 'client_credentials',
    client_id: c.client_id,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(decodeJwtPayload(r.json.access_token as string).azp, 'kong-jwt');
});

test('a browser logs in through the login page (authorization code + PKCE) and the code buys a Keycloak-style JWT', { skip: browserAvailable() ? false : 'chromium not installed' }, async () => {
  // A tiny relying party on loopback receives the redirect.
  let received: URL | null = null;
  const rp: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname === '/callback') received = u;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('callback received');
  });
  await new Promise<void>((r) => rp.listen(0, '127.0.0.1', r));
  const port = (rp.address() as { port: number }).port;
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  let browser: Browser | null = null;
  try {
    browser = await launchBrowser();
    for (const [username, hasScope] of [['Blog_with_scope', true], ['Blog_without_scope', false]] as const) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const state = randomBytes(8).toString('hex');
      const auth = new URL(idp.endpoints.authorization);
      auth.search = form({
        client_id: 'kong', response_type: 'code', scope: 'openid kong_api_access', redirect_uri: redirectUri,
        state, nonce: randomBytes(8).toString('hex'), code_challenge: challenge, code_challenge_method: 'S256',
      }).toString();
      received = null;
      await page.goto(auth.href);
      // A wrong password keeps us on the login page with Keycloak's message.
      await page.fill('#username', username);
      await page.fill('#password', 'wrong');
      await Promise.all([page.waitForNavigation(), page.click('#kc-login')]);
      assert.match(await page.textContent('body') ?? '', /Invalid username or password/);
      await login(page, username, DEMO_PASSWORD);
      assert.ok(received !== null, 'redirected back to the relying party');
      const cb = received as URL;
      assert.equal(cb.searchParams.get('state'), state);
      const code = cb.searchParams.get('code');
      assert.ok(code);
      const t = await postForm(idp.endpoints.token, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }, basic('kong', 'kong-secret'));
      assert.equal(t.status, 200, JSON.stringify(t.json));
      const { payload } = await jwtVerify(t.json.access_token as string, await jwks(), { issuer: idp.issuer });
      assertKeycloakClaims(payload, username);
      assert.equal(String(payload.scope).split(' ').includes('kong_api_access'), hasScope);
      const idClaims = decodeJwtPayload(t.json.id_token as string);
      assert.equal(idClaims.preferred_username, username);
      assert.equal(typeof t.json.refresh_token, 'string');

      // RP-initiated logout with id_token_hint returns to the post-logout URI.
      const logout = new URL(idp.endpoints.end_session);
      logout.search = form({ id_token_hint: t.json.id_token as string, post_logout_redirect_uri: `http://127.0.0.1:${port}/bye`, client_id: 'kong' }).toString();
      received = null;
      await page.goto(logout.href);
      await page.waitForURL(`http://127.0.0.1:${port}/bye**`, { timeout: 15_000 });
      // The session is gone: the refresh token no longer works.
      const r = await postForm(idp.endpoints.token, { grant_type: 'refresh_token', refresh_token: t.json.refresh_token as string }, basic('kong', 'kong-secret'));
      assert.equal(r.status, 400);
      await context.close();
    }
  } finally {
    await browser?.close();
    await new Promise<void>((r) => rp.close(() => r()));
  }
});
