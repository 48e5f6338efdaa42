/**
 * acl through the whole gateway. Groups come from an authentication plugin
 * (openid-connect's authenticated_groups_claim in production); here a small
 * test-only plugin plays that part, reading what it establishes from request
 * headers, so each test says exactly who is calling.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';
import { registerPlugin } from '../../../src/plugins/index.ts';
import type { PluginModule } from '../../../src/plugins/types.ts';
import * as pdk from '../../../src/pdk/index.ts';

/** Test authentication: x-test-groups → authenticated groups, x-test-consumer → consumer + credential. */
const testAuth: PluginModule<Record<string, never>, null> = {
  name: 'test-auth',
  version: '0.0.0',
  priority: 1250,
  schema: Type.Object({}, { additionalProperties: false }),
  compile: () => null,
  access(ctx) {
    const groups = pdk.request.getHeader(ctx, 'x-test-groups');
    if (groups !== undefined) pdk.client.setAuthenticatedGroups(ctx, groups === '' ? [] : groups.split(','));
    const username = pdk.request.getHeader(ctx, 'x-test-consumer');
    if (username !== undefined) {
      const consumer = pdk.client.loadConsumer(ctx, 'username', username);
      pdk.client.authenticate(ctx, consumer, { id: 'cred-1', consumer_id: consumer?.id ?? null });
    }
  },
};
registerPlugin(testAuth);

let gw: TestGateway;
let echo: Echo;
let n = 0;

before(async () => {
  echo = await startEcho();
  gw = await startGateway({ logLevel: 'warn' });
  assert.equal((await gw.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
  assert.equal((await gw.admin('POST', '/consumers', { username: 'alice' })).status, 201);
});

after(async () => {
  await gw.close();
  await echo.close();
});

async function route(config: Record<string, unknown>): Promise<string> {
  const name = `acl${++n}`;
  assert.equal((await gw.admin('POST', '/services/svc/routes', { name, paths: [`/${name}`] })).status, 201);
  assert.equal((await gw.admin('POST', `/routes/${name}/plugins`, { name: 'test-auth', config: {} })).status, 201);
  const r = await gw.admin('POST', `/routes/${name}/plugins`, { name: 'acl', config });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await gw.settle();
  return `${gw.proxyUrl}/${name}`;
}

test('allow list: a member passes and the upstream learns the groups in X-Authenticated-Groups', async () => {
  const url = await route({ allow: ['admin', 'dev'] });
  const res = await fetch(url, { headers: { 'x-test-groups': 'dev,ops' } });
  assert.equal(res.status, 200);
  const reply = (await res.json()) as EchoReply;
  assert.equal(reply.headers['x-authenticated-groups'], 'dev, ops');
});

test('allow list: a non-member gets 403 "You cannot consume this service" and the upstream is not reached', async () => {
  const url = await route({ allow: ['admin'] });
  const before = echo.requestCount();
  const res = await fetch(url, { headers: { 'x-test-groups': 'dev' } });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { message: string }).message, 'You cannot consume this service');
  assert.equal(echo.requestCount(), before);
});

test('nobody authenticated: 401 Unauthorized', async () => {
  const url = await route({ allow: ['admin'] });
  const res = await fetch(url);
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { message: string }).message, 'Unauthorized');
});

test('deny list: members are refused, everyone else passes', async () => {
  const url = await route({ deny: ['banned'] });
  assert.equal((await fetch(url, { headers: { 'x-test-groups': 'banned,dev' } })).status, 403);
  assert.equal((await fetch(url, { headers: { 'x-test-groups': 'dev' } })).status, 200);
});

test('a mapped consumer is judged by its authenticated groups and they go upstream as X-Consumer-Groups', async () => {
  const url = await route({ allow: ['admin'] });
  const res = await fetch(url, { headers: { 'x-test-consumer': 'alice', 'x-test-groups': 'admin' } });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as EchoReply).headers['x-consumer-groups'], 'admin');
  const noGroups = await fetch(url, { headers: { 'x-test-consumer': 'alice' } });
  assert.equal(noGroups.status, 403);
  await noGroups.text();
});

test('hide_groups_header keeps the groups from the upstream, and client-sent group headers never reach it', async () => {
  const url = await route({ allow: ['admin'], hide_groups_header: true });
  const res = await fetch(url, { headers: { 'x-test-groups': 'admin', 'x-consumer-groups': 'forged', 'x-authenticated-groups': 'forged' } });
  assert.equal(res.status, 200);
  const reply = (await res.json()) as EchoReply;
  assert.equal(reply.headers['x-authenticated-groups'], undefined);
  assert.equal(reply.headers['x-consumer-groups'], undefined);
});

test('configuration: exactly one of allow / deny, with Kong’s messages', async () => {
  let r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'acl', config: {} });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body.fields['@entity'], ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"]);
  r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'acl', config: { allow: ['a'], deny: ['b'] } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body.fields['@entity'], ["only one of these fields must be non-empty: 'config.allow', 'config.deny'"]);
  r = await gw.admin('POST', '/plugins', { name: 'acl', config: { allow: ['a'] } });
  assert.equal(r.status, 201);
  assert.deepEqual(r.body.config, { allow: ['a'], deny: null, hide_groups_header: false, include_consumer_groups: false, always_use_authenticated_groups: false });
  await gw.admin('DELETE', `/plugins/${r.body.id}`);
});

test('acl cannot be attached to a consumer (Kong: no_consumer)', async () => {
  const c = await gw.admin('POST', '/consumers', { username: 'bob' });
  const r = await gw.admin('POST', `/consumers/${c.body.id}/plugins`, { name: 'acl', config: { allow: ['a'] } });
  assert.equal(r.status, 400);
  assert.equal(r.body.fields.consumer, 'value must be null');
});
