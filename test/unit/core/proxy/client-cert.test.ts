/**
 * Which handshakes ask for a client certificate (tls-handshake-modifier), the
 * way Kong's sni_filter.lua turns plugin scopes into SNIs: global → every
 * handshake; route / service → the routes' snis (exact, `*.suffix`,
 * `prefix.*`), a route without snis → every handshake; no SNI → only when
 * every handshake is covered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClientCertDecision } from '../../../../src/core/proxy/client-cert.ts';
import type { PluginEntity } from '../../../../src/schema/entities/types.ts';
import { routeEntity } from '../../../helpers/entities.ts';

const plugin = (scope: { route?: string; service?: string }): PluginEntity =>
  ({ id: 'p', name: 'tls-handshake-modifier', enabled: true, config: {}, route: scope.route ? { id: scope.route } : null, service: scope.service ? { id: scope.service } : null, consumer: null }) as unknown as PluginEntity;

const routes = [
  routeEntity({ id: 'r1', snis: ['api.example.com', '*.wild.test', 'pre.*'], service: { id: 's1' } }),
  routeEntity({ id: 'r2', snis: ['other.example.com'], service: { id: 's1' } }),
  routeEntity({ id: 'r3', snis: ['third.example.com'], service: { id: 's2' } }),
  routeEntity({ id: 'open', snis: null, service: { id: 's3' } }),
];

test('no plugin: no handshake asks', () => {
  const d = buildClientCertDecision([], routes);
  assert.equal(d('api.example.com'), false);
  assert.equal(d(null), false);
});

test('a global plugin: every handshake asks, with or without SNI', () => {
  const d = buildClientCertDecision([plugin({})], routes);
  assert.equal(d('anything.test'), true);
  assert.equal(d(null), true);
});

test('on a route: its snis only — exact (case-insensitive), leftmost and rightmost wildcards', () => {
  const d = buildClientCertDecision([plugin({ route: 'r1' })], routes);
  assert.equal(d('api.example.com'), true);
  assert.equal(d('API.Example.COM'), true);
  assert.equal(d('a.wild.test'), true);
  assert.equal(d('a.b.wild.test'), true);
  assert.equal(d('wild.test'), false);
  assert.equal(d('pre.anything'), true);
  assert.equal(d('other.example.com'), false);
  assert.equal(d(null), false, 'no SNI is not covered by route snis');
});

test('on a service: the snis of each of its routes', () => {
  const d = buildClientCertDecision([plugin({ service: 's1' })], routes);
  assert.equal(d('api.example.com'), true);
  assert.equal(d('other.example.com'), true);
  assert.equal(d('third.example.com'), false);
});

test('a route without snis can be reached by any name: every handshake asks', () => {
  assert.equal(buildClientCertDecision([plugin({ route: 'open' })], routes)('whatever.test'), true);
  assert.equal(buildClientCertDecision([plugin({ service: 's3' })], routes)(null), true);
});

test('a plugin on a route that no longer exists asks nothing', () => {
  assert.equal(buildClientCertDecision([plugin({ route: 'gone' })], routes)('api.example.com'), false);
});
