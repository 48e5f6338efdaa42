/**
 * A session cookie replayed on every request is decrypted once and then
 * served from memory (session/crypto.ts). What a user would notice if that
 * went wrong: a cookie altered after it was first accepted must still open
 * as no session, and the untouched cookie must keep opening with its data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { OidcSessions } from '../../../src/plugins/openid-connect/session/index.ts';

const SECRET = 'a-long-enough-session-secret-for-cache-tests';
const T0 = 1_800_000_000;

function valueOf(setCookie: string, name = 'session'): string {
  return setCookie.split(';')[0]!.slice(name.length + 1);
}

// Flip the top bit of one base64url character (a bit every position carries; a last character's low bits may be padding).
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const flip = (s: string, i: number): string => s.slice(0, i) + B64[B64.indexOf(s[i]!) ^ 32] + s.slice(i + 1);

test('a session cookie altered after it was accepted opens as no session, and the original keeps opening with its data', async () => {
  const m = new OidcSessions({ secret: SECRET });
  const set = await m.write(null, { sub: 'u1', tokens: { access_token: 'at' } }, T0, false);
  const value = valueOf(set[0]!);
  for (let i = 0; i < 3; i++) assert.deepEqual((await m.read(`session=${value}`, T0 + 1))?.data, { sub: 'u1', tokens: { access_token: 'at' } });
  // Header bytes (MAC, tag, ids) and ciphertext bytes alike.
  for (const i of [3, 40, 70, 89, 92, value.length - 2]) {
    assert.equal(await m.read(`session=${flip(value, i)}`, T0 + 1), null, `flipped char ${i}`);
  }
  assert.equal((await m.read(`session=${value}`, T0 + 1))?.data.sub, 'u1');
  // Another manager with another secret never gets this session from memory.
  assert.equal(await new OidcSessions({ secret: 'a-different-secret-for-the-cache-test' }).read(`session=${value}`, T0 + 1), null);
});

test('a chunked session cookie with one chunk swapped for another session\'s chunk opens as no session after both were accepted', async () => {
  const m = new OidcSessions({ secret: SECRET });
  const big = (): Record<string, unknown> => ({ t: randomBytes(6000).toString('base64url') });
  const c1 = (await m.write(null, big(), T0, false)).map((c) => c.split(';')[0]!).join('; ');
  const c2 = (await m.write(null, big(), T0, false)).map((c) => c.split(';')[0]!).join('; ');
  assert.ok(await m.read(c1, T0));
  assert.ok(await m.read(c2, T0));
  const chunk2of = (c: string): string => /session2=([^;]+)/.exec(c)![1]!;
  const mixed = c1.replace(/session2=[^;]+/, `session2=${chunk2of(c2)}`);
  assert.equal(await m.read(mixed, T0), null);
});

test('session timeouts still end a session that was opened from memory before', async () => {
  const m = new OidcSessions({ secret: SECRET, idlingTimeout: 60 });
  const set = await m.write(null, { sub: 'u1' }, T0, false);
  assert.ok(await m.read(`session=${valueOf(set[0]!)}`, T0 + 10));
  assert.equal(await m.read(`session=${valueOf(set[0]!)}`, T0 + 61), null);
});
