/**
 * The openid-connect session cookie: what a browser holding it would notice —
 * it round-trips, big IdP tokens never break it, tampering or another
 * secret gets no session, timeouts end it, and the upstream never sees it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { nodeStateDir, openNodeDatabaseAt } from '../../../src/core/node-state/database.ts';
import {
  OidcSessions,
  sealAuthorizationState,
  openAuthorizationState,
  sessionOptionsFromKong,
  SUPPORTED_SESSION_STORAGES,
  SessionTooLargeError,
  type SessionOptions,
} from '../../../src/plugins/openid-connect/session/index.ts';

const SECRET = 'a-long-enough-session-secret-for-tests';
const T0 = 1_800_000_000;

/** What the browser would send back after receiving these Set-Cookie values. */
function jar(setCookies: string[], previous = ''): string {
  const cookies = new Map<string, string>();
  for (const part of previous.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const sc of setCookies) {
    const first = sc.split(';')[0] as string;
    const eq = first.indexOf('=');
    const name = first.slice(0, eq);
    const value = first.slice(eq + 1);
    if (/Max-Age=0/.test(sc)) cookies.delete(name);
    else cookies.set(name, value);
  }
  return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

function manager(extra: Partial<SessionOptions> = {}): OidcSessions {
  return new OidcSessions({ secret: SECRET, ...extra });
}

test('a saved session opens again with the same data, as a Lax, HttpOnly, path=/ cookie named "session"', async () => {
  const m = manager();
  const set = await m.write(null, { sub: 'u1', access_token: 'at', n: 1 }, T0, false);
  assert.equal(set.length, 1);
  assert.match(set[0] as string, /^session=[A-Za-z0-9_-]+; Path=\/; SameSite=Lax; HttpOnly$/);
  const s = await m.read(jar(set), T0 + 5);
  assert.ok(s);
  assert.deepEqual(s.data, { sub: 'u1', access_token: 'at', n: 1 });
  assert.equal(s.createdAt, T0);
  assert.equal(s.remembered, false);
  assert.equal(typeof s.id, 'string');
  assert.equal(s.timeouts.idling, 900 - 5);
  assert.equal(s.timeouts.timeout, 895);
});

test('the Secure attribute follows the request scheme unless session_cookie_secure is set', async () => {
  assert.match((await manager().write(null, {}, T0, true))[0] as string, /; Secure/);
  assert.doesNotMatch((await manager().write(null, {}, T0, false))[0] as string, /; Secure/);
  assert.match((await manager({ cookieSecure: true }).write(null, {}, T0, false))[0] as string, /; Secure/);
  assert.doesNotMatch((await manager({ cookieSecure: false }).write(null, {}, T0, true))[0] as string, /; Secure/);
  const custom = (await manager({ cookieName: 'oidc', cookiePath: '/app', cookieDomain: 'example.com', cookieSameSite: 'Strict', cookieHttpOnly: false }).write(null, {}, T0, false))[0] as string;
  assert.match(custom, /^oidc=[^;]+; Path=\/app; Domain=example\.com; SameSite=Strict$/);
});

test('a 12 KB session (big IdP tokens) is split across session, session2, session3 … and opens intact', async () => {
  const m = manager();
  const big = { access_token: randomBytes(4500).toString('base64url'), id_token: randomBytes(4500).toString('base64url') };
  assert.ok(JSON.stringify(big).length >= 12_000);
  const set = await m.write(null, big, T0, true);
  assert.ok(set.length >= 4, `expected ≥4 cookies, got ${set.length}`);
  assert.deepEqual(set.map((c) => c.split('=')[0]), ['session', ...set.slice(1).map((_, i) => `session${i + 2}`)]);
  for (const c of set) assert.ok((c.split(';')[0] as string).length <= 4000, 'each cookie stays under the browser limit');
  const s = await m.read(jar(set), T0 + 1);
  assert.deepEqual(s?.data, big);

  // Shrinking the session expires the chunks it no longer needs.
  const smaller = await m.write(s, { small: true }, T0 + 2, true);
  assert.match(smaller[0] as string, /^session=/);
  const expired = smaller.filter((c) => /Max-Age=0/.test(c)).map((c) => c.split('=')[0]);
  assert.deepEqual(expired, set.slice(1).map((c) => c.split('=')[0]));
  const after = await m.read(jar(smaller, jar(set)), T0 + 3);
  assert.deepEqual(after?.data, { small: true });
});

test('a missing or truncated chunk means no session (never an error)', async () => {
  const m = manager();
  const set = await m.write(null, { t: randomBytes(6000).toString('base64url') }, T0, false);
  const cookie = jar(set);
  assert.equal(await m.read(cookie.replace(/; session2=[^;]+/, ''), T0), null);
  assert.equal(await m.read(cookie.replace(/(session2=[^;]{10})[^;]*/, '$1'), T0), null);
});

test('a tampered cookie, a cookie sealed with another secret, or garbage opens as no session', async () => {
  const m = manager();
  const set = await m.write(null, { sub: 'u1' }, T0, false);
  const value = (set[0] as string).split(';')[0]!.slice('session='.length);
  // Flip the top bit of one base64url character: a bit every position carries (the last character's
  // low bits may be padding a decoder ignores, so 'A' ↔ 'B' there would change nothing).
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const flip = (s: string, i: number): string => s.slice(0, i) + B64[B64.indexOf(s[i]!) ^ 32] + s.slice(i + 1);
  for (const i of [0, 5, 30, 60, 90, 95, value.length - 1]) {
    assert.equal(await m.read(`session=${flip(value, i)}`, T0), null, `flipped char ${i}`);
  }
  assert.equal(await manager({ secret: 'another-secret-entirely-different' }).read(`session=${value}`, T0), null);
  for (const junk of ['session=', 'session=abc', `session=${'A'.repeat(200)}`, 'session=%%%%', 'other=1']) {
    assert.equal(await m.read(junk, T0), null, junk);
  }
  assert.equal(await m.read(undefined, T0), null);
  // Secret rotation: the old secret as fallback still opens existing sessions.
  const rotated = manager({ secret: 'the-new-secret-after-rotation', secretFallbacks: [SECRET] });
  assert.deepEqual((await rotated.read(`session=${value}`, T0))?.data, { sub: 'u1' });
});

test('idling timeout: a session unused for longer than session_idling_timeout is gone; a touch keeps it alive', async () => {
  const m = manager({ idlingTimeout: 900, rollingTimeout: 3600, absoluteTimeout: 86400 });
  let cookie = jar(await m.write(null, { sub: 'u' }, T0, false));
  assert.ok(await m.read(cookie, T0 + 900));
  assert.equal(await m.read(cookie, T0 + 901), null);

  // Used at +600: refresh touches (idle offset moves), so +1400 is still within 900 s of the touch.
  const s = await m.read(cookie, T0 + 600);
  assert.ok(s);
  const touched = await m.refresh(s, T0 + 600, false);
  assert.equal(touched.length, 1);
  cookie = jar(touched, cookie);
  const later = await m.read(cookie, T0 + 1400);
  assert.ok(later);
  assert.equal(later.id, s.id, 'a touch keeps the session id');
  assert.equal(await m.read(cookie, T0 + 1501), null);
});

test('a request within the touch threshold re-sends nothing', async () => {
  const m = manager();
  const cookie = jar(await m.write(null, { sub: 'u' }, T0, false));
  const s = await m.read(cookie, T0 + 30);
  assert.deepEqual(await m.refresh(s!, T0 + 30, false), []);
});

test('rolling timeout: after 3/4 of it the session is re-saved with a new id; without renewal it ends', async () => {
  const m = manager({ idlingTimeout: 0, rollingTimeout: 3600, absoluteTimeout: 86400 });
  const cookie = jar(await m.write(null, { sub: 'u' }, T0, false));
  assert.ok(await m.read(cookie, T0 + 3600));
  assert.equal(await m.read(cookie, T0 + 3601), null);
  const s = await m.read(cookie, T0 + 2701);
  assert.ok(s);
  const renewed = await m.refresh(s, T0 + 2701, false);
  assert.equal(renewed.length, 1);
  const r = await m.read(jar(renewed), T0 + 6000);
  assert.ok(r);
  assert.notEqual(r.id, s.id);
  assert.equal(r.createdAt, T0, 'renewal keeps the creation time');
});

test('absolute timeout: no renewal extends a session beyond session_absolute_timeout', async () => {
  const m = manager({ idlingTimeout: 0, rollingTimeout: 100, absoluteTimeout: 250 });
  let cookie = jar(await m.write(null, { sub: 'u' }, T0, false));
  for (const t of [80, 160, 240]) {
    const s = await m.read(cookie, T0 + t);
    assert.ok(s, `alive at +${t}`);
    cookie = jar(await m.write(s, s.data, T0 + t, false), cookie);
  }
  assert.ok(await m.read(cookie, T0 + 250));
  assert.equal(await m.read(cookie, T0 + 251), null);
});

test('legacy session_cookie_lifetime / session_cookie_idletime configure the rolling and idling timeouts', () => {
  const legacy = sessionOptionsFromKong({ session_cookie_lifetime: 120, session_cookie_idletime: 30, session_rolling_timeout: 3600, session_idling_timeout: 900 }, 'fallback');
  assert.equal(legacy.rollingTimeout, 120);
  assert.equal(legacy.idlingTimeout, 30);
  assert.equal(legacy.secret, 'fallback');
  const modern = sessionOptionsFromKong({ session_rolling_timeout: 60, session_cookie_lifetime: 120, session_secret: 'configured' }, 'fallback');
  assert.equal(modern.rollingTimeout, 60);
  assert.equal(modern.secret, 'configured');
  assert.equal(sessionOptionsFromKong({ session_cookie_samesite: 'off' }, 'x').cookieSameSite, 'Default');
  assert.deepEqual([...SUPPORTED_SESSION_STORAGES].sort(), ['cookie', 'memory', 'redis']);
  assert.throws(() => new OidcSessions({ secret: 'x', storage: 'memcache' as never }), /not supported/);
});

test('stripCookies removes the session cookie and its chunks, keeping every other cookie as sent', async () => {
  const m = manager();
  assert.equal(m.stripSessionCookies('session=abc; session2=def; theme=dark; session9=x; sessions=keep; session10=keep'), 'theme=dark; sessions=keep; session10=keep');
  assert.equal(m.stripSessionCookies('session=abc; session2=x'), undefined);
  assert.equal(m.stripSessionCookies(undefined), undefined);
  assert.equal(m.stripSessionCookies('a=1;b=2'), 'a=1; b=2');
  const remember = manager({ remember: true });
  assert.equal(remember.stripSessionCookies('remember=1; session=2; x=3'), 'x=3');
});

test('destroy expires every chunk the browser holds', async () => {
  const m = manager();
  const set = await m.write(null, { t: randomBytes(9000).toString('base64url') }, T0, true);
  const cookie = jar(set);
  const s = await m.read(cookie, T0);
  const gone = await m.erase(s, cookie, true);
  assert.equal(gone.length, set.length);
  for (const c of gone) assert.match(c, /^session\d?=; Path=\/; SameSite=Lax; Secure; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0$/);
  assert.equal(jar(gone, cookie), '');
  // Without a session object it still clears what the browser sent.
  assert.equal((await m.erase(null, cookie)).length, set.length);
  assert.equal((await m.erase(null, undefined)).length, 1);
});

test('data too large even for 9 cookies is refused loudly', async () => {
  await assert.rejects(manager().write(null, { t: randomBytes(40_000).toString('base64url') }, T0, false), SessionTooLargeError);
});

test('compression keeps a large, repetitive session in fewer cookies', async () => {
  const data = { claims: Array.from({ length: 400 }, (_, i) => ({ group: `group-${i}`, role: 'reader' })) };
  const plain = await manager().write(null, data, T0, false);
  const m = manager({ compressAbove: 1024 });
  const small = await m.write(null, data, T0, false);
  assert.ok(small.length < plain.length);
  assert.deepEqual((await m.read(jar(small), T0))?.data, data);
});

test('remember: when the session cookie is gone, the persistent remember cookie restores the session', async () => {
  const m = manager({ remember: true, idlingTimeout: 60 });
  const set = await m.write(null, { sub: 'u' }, T0, false);
  const remember = set.find((c) => c.startsWith('remember='));
  assert.ok(remember);
  assert.match(remember, /; Expires=[^;]+; Max-Age=604800/);
  const cookie = jar(set);
  // Idle for two hours: the session cookie is expired, remember is not.
  const s = await m.read(cookie, T0 + 7200);
  assert.ok(s);
  assert.equal(s.remembered, true);
  const resaved = await m.refresh(s, T0 + 7200, false);
  const back = await m.read(jar(resaved, cookie), T0 + 7201);
  assert.equal(back?.remembered, false);
  assert.deepEqual(back?.data, { sub: 'u' });
  assert.equal(await m.read(cookie, T0 + 604800 + 1), null);
});

test('memory storage keeps only a session id in the cookie; destroy removes the stored data', async () => {
  const m = manager({ storage: 'memory' });
  const set = await m.write(null, { access_token: randomBytes(6000).toString('base64url') }, T0, false);
  assert.equal(set.length, 1);
  assert.ok((set[0] as string).split(';')[0]!.length < 200);
  const cookie = jar(set);
  const s = await m.read(cookie, T0 + 1);
  assert.ok(s);
  // A cookie-storage manager refuses it, and vice versa.
  assert.equal(await manager().read(cookie, T0 + 1), null);
  await m.erase(s, cookie);
  assert.equal(await m.read(cookie, T0 + 2), null);
  // Stored data expires with the rolling timeout.
  const again = jar(await m.write(null, { a: 1 }, T0, false));
  assert.equal(await m.read(again, T0 + 3601), null);
});

test('memory storage is one store per node: the data is in the node\'s shared database, which every worker opens', async () => {
  const m = manager({ storage: 'memory' });
  const cookie = jar(await m.write(null, { sub: 'node-wide' }, T0, false));
  // A second connection to the node's database stands for another worker of the node.
  const other = openNodeDatabaseAt(nodeStateDir());
  try {
    const rows = other.prepare('SELECT count(*) AS n FROM oidc_sessions WHERE expires_at > ?').get(T0) as { n: number };
    assert.ok(rows.n >= 1, 'the session is stored node-wide');
  } finally {
    other.close();
  }
  // A manager built later (another plugin instance, or a recompiled one) opens it.
  assert.deepEqual((await manager({ storage: 'memory' }).read(cookie, T0 + 1))?.data, { sub: 'node-wide' });
});

test('the authorization cookie round-trips state, nonce, PKCE verifier and URL, and expires', () => {
  const data = { state: 's1', nonce: 'n1', code_verifier: 'v'.repeat(43), original_url: 'http://localhost:8000/oidc?x=1' };
  const sealed = sealAuthorizationState(data, SECRET, 600, T0);
  assert.match(sealed, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(openAuthorizationState(sealed, SECRET, T0 + 599), data);
  assert.equal(openAuthorizationState(sealed, SECRET, T0 + 600), null);
  assert.equal(openAuthorizationState(sealed, 'another-secret', T0), null);
  assert.equal(openAuthorizationState(`${sealed.slice(0, -2)}AA`, SECRET, T0), null);
  assert.equal(openAuthorizationState(sealed.slice(0, 20), SECRET, T0), null);
  assert.equal(openAuthorizationState('', SECRET, T0), null);
  assert.equal(openAuthorizationState(undefined, SECRET, T0), null);
  assert.deepEqual(openAuthorizationState(sealed, 'new-secret', T0, [SECRET]), data);
  // A session cookie is not an authorization cookie (separate keys).
  assert.notEqual(sealAuthorizationState(data, SECRET, 600, T0), sealed, 'fresh IV every time');
});

test('inspect says why a cookie was not accepted, for the debug log', async () => {
  const m = manager({ idlingTimeout: 60 });
  const cookie = jar(await m.write(null, { sub: 'u' }, T0, false));
  assert.deepEqual(await m.inspect(undefined, T0), { session: null, reason: 'missing session cookie' });
  assert.equal((await m.inspect(cookie, T0 + 61)).reason, 'session idling timeout exceeded');
  assert.equal((await m.inspect('session=x', T0)).reason, 'invalid session header');
  assert.equal((await manager({ secret: 'other-secret-value' }).inspect(cookie, T0)).reason, 'invalid session header or message authentication code');
  const ok = await m.inspect(cookie, T0 + 1);
  assert.equal(ok.reason, null);
  assert.deepEqual(ok.session?.data, { sub: 'u' });
});
