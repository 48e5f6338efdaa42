/**
 * Sessions in Redis (Kong's `session_storage = redis`), against the real
 * Redis on 127.0.0.1:6379: the browser holds only an authenticated session
 * id, any node sharing the Redis opens the session, and an unreachable Redis
 * is a failure, not "no session".
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { OidcSessions, SessionStoreError } from '../../../src/plugins/openid-connect/session/index.ts';

const SECRET = 'redis-session-test-secret-0123456789';
const prefix = `portcullis-test:${randomBytes(6).toString('hex')}:`;
const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
const managers: OidcSessions[] = [];

function make(extra: Record<string, unknown> = {}): OidcSessions {
  const m = new OidcSessions({ secret: SECRET, storage: 'redis', redis: { host: '127.0.0.1', port: 6379, prefix }, ...extra });
  managers.push(m);
  return m;
}

function cookieOf(setCookies: string[]): string {
  return setCookies.filter((c) => !/Max-Age=0/.test(c)).map((c) => c.split(';')[0]).join('; ');
}

after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  for (const m of managers) await m.close();
});

test('the cookie holds only the session id; the data lives in Redis under the prefix with the rolling timeout as TTL', async () => {
  const now = Math.floor(Date.now() / 1000);
  const m = make();
  const big = { access_token: randomBytes(9000).toString('base64url') };
  const set = await m.write(null, big, now, false);
  assert.equal(set.length, 1, 'one cookie however large the session');
  assert.ok((set[0] as string).split(';')[0]!.length < 200);
  const keys = await redis.keys(`${prefix}*`);
  assert.equal(keys.length, 1);
  const ttl = await redis.ttl(keys[0] as string);
  assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
  assert.ok(!(await redis.get(keys[0] as string))!.includes(big.access_token.slice(0, 40)), 'stored encrypted');

  // Another node (another manager, same Redis and secret) opens it.
  const s = await make().read(cookieOf(set), now + 1);
  assert.deepEqual(s?.data, big);
});

test('re-saving rotates the id, the old entry lingers only for the stale TTL, and destroy deletes the data', async () => {
  const now = Math.floor(Date.now() / 1000);
  const m = make();
  const first = cookieOf(await m.write(null, { n: 1 }, now, false));
  const s = await m.read(first, now);
  assert.ok(s);
  const second = cookieOf(await m.write(s, { n: 2 }, now + 1, false));
  assert.notEqual(second, first);
  const keys = await redis.keys(`${prefix}*`);
  const ttls = await Promise.all(keys.map((k) => redis.ttl(k)));
  assert.ok(ttls.some((t) => t <= 10), 'previous entry expires within stale_ttl');
  assert.deepEqual((await m.read(first, now + 1))?.data, { n: 1 }, 'requests in flight with the old cookie still work');
  const s2 = await m.read(second, now + 1);
  assert.deepEqual(s2?.data, { n: 2 });
  const before = (await redis.keys(`${prefix}*`)).length;
  await m.erase(s2, second);
  assert.equal((await redis.keys(`${prefix}*`)).length, before - 1);
  assert.equal(await m.read(second, now + 2), null);
});

test('a forged session id gets no session and no Redis lookup result', async () => {
  const now = Math.floor(Date.now() / 1000);
  const m = make();
  const cookie = cookieOf(await m.write(null, { n: 1 }, now, false));
  const forged = cookie.replace(/session=(.)/, (_, c: string) => `session=${c === 'A' ? 'B' : 'A'}`);
  assert.equal(await m.read(forged, now), null);
  assert.equal(await m.read('session=', now), null);
});

test('an unreachable Redis is a SessionStoreError, not an empty session', async () => {
  const m = new OidcSessions({ secret: SECRET, storage: 'redis', redis: { host: '127.0.0.1', port: 1, connect_timeout: 200, read_timeout: 300, prefix } });
  managers.push(m);
  const cookieStore = make();
  const cookie = cookieOf(await cookieStore.write(null, { n: 1 }, Math.floor(Date.now() / 1000), false));
  await assert.rejects(m.read(cookie, Math.floor(Date.now() / 1000)), SessionStoreError);
  await assert.rejects(m.write(null, { n: 1 }, Math.floor(Date.now() / 1000), false), SessionStoreError);
});
