/**
 * The memory store's byte budget and the cache key's exact bytes, without a gateway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as memory from '../../../src/plugins/proxy-cache/memory-store.ts';
import { buildCacheKey, headersDigest, paramsDigest, prefix, queryArgs } from '../../../src/plugins/proxy-cache/cache-key.ts';
import { parseDirectives, resourceTtl } from '../../../src/plugins/proxy-cache/cache-control.ts';

function entry(bytes: number, now = Date.now()): memory.CachedResponse {
  return { status: 200, headers: {}, body: Buffer.alloc(bytes), storedAt: now, ttl: 60, expiresAt: now + 60_000, version: 1, reqBody: null };
}

test('a dictionary evicts its least recently used entries once its byte budget is used up', () => {
  memory.flush();
  const dict = memory.dictionary('test_dict', 10_000);
  const t0 = Date.now();
  try {
    memory.store(dict, 'p', 'a', entry(3000), t0);
    memory.store(dict, 'p', 'b', entry(3000), t0 + 1);
    memory.store(dict, 'p', 'c', entry(3000), t0 + 2);
    // a is now the most recently used (last access is kept to LRU_RESOLUTION_MS).
    assert.ok(memory.fetch('p', 'a', t0 + memory.LRU_RESOLUTION_MS) !== null);
    memory.store(dict, 'p', 'd', entry(3000), t0 + memory.LRU_RESOLUTION_MS + 1);
    assert.equal(memory.fetch('p', 'b'), null, 'b was the least recently used');
    assert.ok(memory.fetch('p', 'a') !== null);
    assert.ok(memory.fetch('p', 'd') !== null);
    assert.ok(memory.bytesUsed('test_dict') <= 10_000);
    assert.equal(memory.bytesUsed(memory.DEFAULT_DICTIONARY), 0, 'other dictionaries are untouched');
    assert.equal(memory.store(dict, 'p', 'huge', entry(20_000)), false, 'an entry bigger than the budget is refused');
  } finally {
    memory.flush();
  }
});

test('an expired entry reads as absent, and flush(pluginId) leaves other plugins alone', () => {
  memory.flush();
  const dict = memory.dictionary();
  const now = Date.now();
  memory.store(dict, 'p1', 'k', { ...entry(10, now), expiresAt: now + 1000 });
  memory.store(dict, 'p2', 'k', entry(10, now));
  assert.equal(memory.fetch('p1', 'k', now + 1001), null);
  memory.store(dict, 'p1', 'k', entry(10, now));
  memory.flush('p1');
  assert.equal(memory.fetch('p1', 'k'), null);
  assert.ok(memory.fetch('p2', 'k') !== null);
  memory.flush();
  assert.equal(memory.bytesUsed(), 0);
});

test('an entry reads back as stored, also when replaced after a read (the per-worker memo follows the node)', () => {
  memory.flush();
  const dict = memory.dictionary();
  const now = Date.now();
  const first = { ...entry(0, now), headers: { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] }, body: Buffer.from('one'), reqBody: 'q' };
  memory.store(dict, 'p', 'k', first);
  assert.deepEqual(memory.fetch('p', 'k'), first);
  memory.store(dict, 'p', 'k', { ...first, body: Buffer.from('two'), expiresAt: Number.POSITIVE_INFINITY });
  const again = memory.fetch('p', 'k')!;
  assert.equal(again.body.toString(), 'two');
  assert.equal(again.expiresAt, Number.POSITIVE_INFINITY);
  assert.equal(memory.purge('p', 'k'), true);
  assert.equal(memory.fetch('p', 'k'), null);
  assert.equal(memory.bytesUsed(), 0);
});

test('the cache key is sha256 of Kong’s "prefix|method|uri|params|headers" string', () => {
  const args = queryArgs('b=2&a=1&flag&a=0&e=');
  assert.equal(paramsDigest(args, null), 'a=0,1:b=2:e=:flag');
  assert.equal(paramsDigest(args, ['flag', 'b', 'missing']), 'flag:b=2');
  const values = (n: string) => (n === 'x-tenant' ? ['t1'] : n === 'accept' ? ['b', 'a'] : []);
  assert.equal(headersDigest(values, ['X-Tenant', 'Accept', 'None']), 'X-Tenant=t1:Accept=a,b');
  assert.equal(headersDigest(values, null), '');
  assert.equal(prefix('c', 'r'), 'c:r');
  assert.equal(prefix(null, 'r'), 'r');
  assert.equal(prefix(null, null), 'default');
  const expected = createHash('sha256').update('r|GET|GET /x|a=1|').digest('hex');
  assert.equal(buildCacheKey('r', 'GET', 'GET /x', 'a=1', ''), expected);
});

test('a response’s freshness lifetime comes from s-maxage, max-age or Expires', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(resourceTtl(parseDirectives('public, max-age=60, s-maxage=30'), undefined, now), 30);
  assert.equal(resourceTtl(parseDirectives('max-age="45"'), undefined, now), 45);
  assert.equal(resourceTtl(parseDirectives(undefined), 'Wed, 01 Jan 2025 00:02:00 GMT', now), 120);
  assert.equal(resourceTtl(parseDirectives(undefined), '0', now), 0);
  assert.equal(resourceTtl(parseDirectives('no-cache'), undefined, now), 0);
});
