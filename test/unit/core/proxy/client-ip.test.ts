/** Client address resolution as nginx realip does it for Kong's trusted_ips / real_ip_header / real_ip_recursive. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { RealIpResolver } from '../../../../src/core/proxy/client-ip.ts';
import { IpMatcher, normalizeIp } from '../../../../src/shared/ip.ts';

const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

test('an untrusted peer is the client whatever headers it sends', () => {
  const r = new RealIpResolver([], 'X-Real-IP');
  assert.equal(r.resolve(req({ 'x-real-ip': '1.2.3.4' }), '10.0.0.1', r.isTrusted('10.0.0.1')), '10.0.0.1');
});

test('a trusted peer’s X-Real-IP names the client; a non-IP value is ignored', () => {
  const r = new RealIpResolver(['10.0.0.0/8'], 'X-Real-IP');
  assert.equal(r.resolve(req({ 'x-real-ip': '1.2.3.4' }), '10.0.0.1', true), '1.2.3.4');
  assert.equal(r.resolve(req({ 'x-real-ip': 'not-an-ip' }), '10.0.0.1', true), '10.0.0.1');
});

test('X-Forwarded-For: the right-most address, or (recursive) the right-most untrusted one', () => {
  const flat = new RealIpResolver(['10.0.0.0/8'], 'X-Forwarded-For', false);
  const deep = new RealIpResolver(['10.0.0.0/8'], 'X-Forwarded-For', true);
  const h = req({ 'x-forwarded-for': '203.0.113.5, 198.51.100.1, 10.1.1.1' });
  assert.equal(flat.resolve(h, '10.0.0.1', true), '10.1.1.1');
  assert.equal(deep.resolve(h, '10.0.0.1', true), '198.51.100.1');
  assert.equal(deep.resolve(req({ 'x-forwarded-for': '10.2.2.2, 10.1.1.1' }), '10.0.0.1', true), '10.2.2.2');
});

test('trusted_ips accepts addresses, CIDRs, IPv6 and the all-networks blocks', () => {
  const m = new IpMatcher(['192.168.1.0/24', '2001:db8::/32', '127.0.0.1']);
  assert.ok(m.contains('192.168.1.200'));
  assert.ok(!m.contains('192.168.2.1'));
  assert.ok(m.contains('2001:db8::1'));
  assert.ok(m.contains('127.0.0.1'));
  assert.ok(m.contains('::ffff:192.168.1.9'), 'IPv4-mapped IPv6 matches an IPv4 block');
  assert.ok(new IpMatcher(['0.0.0.0/0', '::/0']).contains('8.8.8.8'));
  assert.throws(() => new IpMatcher(['nonsense']), /not an IP address/);
});

test('dual-stack peers are reported as plain IPv4', () => {
  assert.equal(normalizeIp('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeIp('::1'), '::1');
});
