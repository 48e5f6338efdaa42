/** Weighted round-robin over an upstream's targets (Kong's round-robin algorithm). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTarget, RoundRobin } from '../../../src/core/proxy/balancer.ts';
import type { TargetEntity } from '../../../src/schema/entities/types.ts';

const t = (target: string, weight: number, created_at = 1): TargetEntity => ({ id: target + weight, created_at, updated_at: created_at, upstream: { id: 'u' }, target, weight, tags: null });

test('targets default to port 8000 and keep IPv6 brackets for the Host header', () => {
  assert.deepEqual(parseTarget('example.com'), { host: 'example.com', port: 8000, hostHeader: 'example.com' });
  assert.deepEqual(parseTarget('10.0.0.1:81'), { host: '10.0.0.1', port: 81, hostHeader: '10.0.0.1' });
  assert.deepEqual(parseTarget('[::1]:82'), { host: '::1', port: 82, hostHeader: '[::1]' });
});

test('requests are spread in proportion to the weights, interleaved', () => {
  const rr = new RoundRobin([t('a:1', 200), t('b:1', 100)]);
  const seq = Array.from({ length: 6 }, () => rr.next()!.host);
  assert.deepEqual(seq.filter((h) => h === 'a').length, 4);
  assert.deepEqual(seq.filter((h) => h === 'b').length, 2);
  assert.notDeepEqual(seq.slice(0, 4), ['a', 'a', 'a', 'a']);
});

test('weight 0 disables a target; none left means no peer', () => {
  const rr = new RoundRobin([t('a:1', 0)]);
  assert.equal(rr.next(), null);
});

test('a re-added target uses its latest definition', () => {
  const rr = new RoundRobin([t('a:1', 100, 1), t('a:1', 0, 2), t('b:1', 100, 1)]);
  assert.equal(rr.peers.length, 1);
  assert.equal(rr.next()!.host, 'b');
});
