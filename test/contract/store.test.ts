/**
 * One contract suite for every store (ARCHITECTURE principle 11): SQLite in a
 * temporary folder, PostgreSQL (database `test`, a schema of its own dropped
 * afterwards) and the in-memory store of DB-less mode. Rows are built by the
 * real validator, as the Admin API builds them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import pg from 'pg';
import { registerPlugin } from '../../src/plugins/index.ts';
import { prepareEntity } from '../../src/schema/validate.ts';
import { emptyConfig as emptyConfigOf } from '../../src/schema/entities/types.ts';
import type { ConfigSnapshot, EntityMap, EntityName } from '../../src/schema/entities/types.ts';
import { createMemoryStore } from '../../src/store/memory.ts';
import { openStore } from '../../src/store/open.ts';
import { StoreError, type ChangeEvent, type ListPage, type Store } from '../../src/store/store.ts';
import { CA_CERT, selfSignedPair } from '../unit/schema/certs.ts';
import { waitFor as waitUntil } from '../helpers/wait.ts';

registerPlugin({
  name: 'store-contract-plugin',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object({ greeting: Type.String({ default: 'hello' }) }),
  scopes: { consumer: true, route: true, service: true, consumer_group: true },
  compile: (c: unknown) => c,
});

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database: 'test' };

function row<E extends EntityName>(entity: E, input: Record<string, unknown>): EntityMap[E] {
  const r = prepareEntity(entity, input, { mode: 'insert' });
  if (!r.ok) throw new Error(`invalid ${entity} fixture: ${r.message}`);
  return r.row;
}

async function rejects(p: Promise<unknown>, code: StoreError['code'], fields?: Record<string, unknown>, message?: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (fields) assert.deepEqual(err.fields, fields);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

const emptyConfig = (): Omit<ConfigSnapshot, 'version'> => emptyConfigOf();

interface Backend {
  name: string;
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir = '';
  return {
    name: 'sqlite',
    async open() {
      dir ||= await mkdtemp(join(tmpdir(), 'portcullis-store-'));
      return openStore('sqlite', { path: join(dir, 'nested', 'portcullis.db') });
    },
    async cleanup() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client(PG);
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
}

function postgresBackend(): Backend {
  const schema = `store_contract_${randomUUID().replaceAll('-', '')}`;
  return {
    name: 'postgres',
    open: () => openStore('postgres', { ...PG, schema }),
    async cleanup() {
      await dropSchema(schema);
    },
  };
}

function memoryBackend(): Backend {
  return { name: 'memory', open: async () => createMemoryStore(), cleanup: async () => {} };
}

for (const backend of [sqliteBackend(), postgresBackend(), memoryBackend()]) {
  describe(`store contract: ${backend.name}`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      await store.close();
      await backend.cleanup();
    });

    it('stores a service and serves it back by id and by name, then updates and deletes it', async () => {
      const svc = row('services', { name: 'crud-svc', url: 'http://crud.example:8080/x' });
      const inserted = await store.insert('services', svc);
      assert.deepEqual(inserted, svc);
      assert.deepEqual(await store.get('services', svc.id), svc);
      assert.deepEqual(await store.getByKey('services', 'crud-svc'), svc);
      assert.equal(await store.get('services', randomUUID()), null);
      assert.equal(await store.get('services', 'not-a-uuid'), null);

      const changed = { ...svc, retries: 9, name: 'crud-svc-2' };
      await store.update('services', changed);
      assert.equal((await store.get('services', svc.id))?.retries, 9);
      assert.equal(await store.getByKey('services', 'crud-svc'), null);
      assert.equal((await store.getByKey('services', 'crud-svc-2'))?.id, svc.id);

      assert.equal(await store.delete('services', svc.id), true);
      assert.equal(await store.get('services', svc.id), null);
      assert.equal(await store.delete('services', svc.id), false);
    });

    it('refuses a second service with the same name with a unique violation naming the field', async () => {
      await store.insert('services', row('services', { name: 'dup-svc', host: 'a.example' }));
      await rejects(store.insert('services', row('services', { name: 'dup-svc', host: 'b.example' })), 'UNIQUE_VIOLATION', { name: 'dup-svc' }, `UNIQUE violation detected on '{name="dup-svc"}'`);
      const other = row('services', { name: 'other-svc', host: 'c.example' });
      await store.insert('services', other);
      await rejects(store.update('services', { ...other, name: 'dup-svc' }), 'UNIQUE_VIOLATION', { name: 'dup-svc' });
    });

    it('refuses duplicate consumer usernames and custom ids', async () => {
      await store.insert('consumers', row('consumers', { username: 'alice', custom_id: 'c-1' }));
      await rejects(store.insert('consumers', row('consumers', { username: 'alice' })), 'UNIQUE_VIOLATION', { username: 'alice' });
      await rejects(store.insert('consumers', row('consumers', { username: 'bob', custom_id: 'c-1' })), 'UNIQUE_VIOLATION', { custom_id: 'c-1' });
      assert.equal((await store.getByKey('consumers', 'alice'))?.custom_id, 'c-1');
    });

    it('refuses the same plugin twice on the same service (Kong cache key)', async () => {
      const svc = row('services', { name: 'plugin-dup-svc', host: 'p.example' });
      await store.insert('services', svc);
      await store.insert('plugins', row('plugins', { name: 'store-contract-plugin', service: { id: svc.id } }));
      await rejects(store.insert('plugins', row('plugins', { name: 'store-contract-plugin', service: { id: svc.id } })), 'UNIQUE_VIOLATION', {
        name: 'store-contract-plugin',
        route: null,
        service: { id: svc.id },
        consumer: null,
        consumer_group: null,
      });
      // The same plugin globally is a different key.
      await store.insert('plugins', row('plugins', { name: 'store-contract-plugin' }));
    });

    it('refuses a route pointing at a service that does not exist', async () => {
      const missing = randomUUID();
      await rejects(
        store.insert('routes', row('routes', { paths: ['/fk'], service: { id: missing } })),
        'FOREIGN_KEY_VIOLATION',
        { service: { id: missing } },
        `the foreign key '{id="${missing}"}' does not reference an existing 'services' entity.`,
      );
    });

    it('refuses to delete a service that still has routes, and deletes its plugins with it once the routes are gone', async () => {
      const svc = row('services', { name: 'fk-svc', host: 'fk.example' });
      await store.insert('services', svc);
      const route = row('routes', { paths: ['/fk-svc'], service: { id: svc.id } });
      await store.insert('routes', route);
      const plugin = row('plugins', { name: 'store-contract-plugin', service: { id: svc.id } });
      await store.insert('plugins', plugin);

      await rejects(store.delete('services', svc.id), 'FOREIGN_KEY_VIOLATION', { '@referenced_by': 'routes' }, "an existing 'routes' entity references this 'services' entity");
      assert.ok(await store.get('services', svc.id), 'the refused delete left the service');

      assert.equal(await store.delete('routes', route.id), true);
      assert.equal(await store.delete('services', svc.id), true);
      assert.equal(await store.get('plugins', plugin.id), null, "the service's plugin went with it");
    });

    it('stores key-auth credentials findable by key, refuses a duplicate key, and deletes them with their consumer', async () => {
      const consumer = row('consumers', { username: 'keyauth-owner' });
      await store.insert('consumers', consumer);
      const cred = row('keyauth_credentials', { key: 'contract-key', consumer: { id: consumer.id } });
      assert.equal(cred.key, 'contract-key');
      assert.equal('updated_at' in cred, false, 'Kong keyauth_credentials have no updated_at');
      await store.insert('keyauth_credentials', cred);
      assert.deepEqual(await store.getByKey('keyauth_credentials', 'contract-key'), cred);
      const page = await store.list('keyauth_credentials', { size: 10, foreign: { field: 'consumer', id: consumer.id } });
      assert.deepEqual(page.data.map((c) => c.id), [cred.id]);
      await rejects(
        store.insert('keyauth_credentials', row('keyauth_credentials', { key: 'contract-key', consumer: { id: consumer.id } })),
        'UNIQUE_VIOLATION',
        { key: 'contract-key' },
        `UNIQUE violation detected on '{key="contract-key"}'`,
      );
      const orphanOwner = randomUUID();
      await rejects(store.insert('keyauth_credentials', row('keyauth_credentials', { key: 'orphan-key', consumer: { id: orphanOwner } })), 'FOREIGN_KEY_VIOLATION', {
        consumer: { id: orphanOwner },
      });
      assert.equal((await store.snapshot()).keyauth_credentials.some((c) => c.id === cred.id), true);
      await store.delete('consumers', consumer.id);
      assert.equal(await store.get('keyauth_credentials', cred.id), null, "the consumer's key went with it");
      assert.equal(await store.getByKey('keyauth_credentials', 'contract-key'), null);
    });

    it('issue-15 entities: unique acl per consumer and group, natural keys, cascades with consumer, group and key set', async () => {
      const consumer = row('consumers', { username: 'i15-owner' });
      await store.insert('consumers', consumer);
      const c = { id: consumer.id };
      const acl = row('acls', { consumer: c, group: 'gold', tags: ['t'] });
      await store.insert('acls', acl);
      await rejects(store.insert('acls', row('acls', { consumer: c, group: 'gold' })), 'UNIQUE_VIOLATION');
      const ba = row('basicauth_credentials', { consumer: c, username: 'i15-ba', password: 'h' });
      const jwt = row('jwt_secrets', { consumer: c, key: 'i15-jwt' });
      const hmac = row('hmacauth_credentials', { consumer: c, username: 'i15-hmac' });
      await store.insert('basicauth_credentials', ba);
      await store.insert('jwt_secrets', jwt);
      await store.insert('hmacauth_credentials', hmac);
      assert.equal((await store.getByKey('basicauth_credentials', 'i15-ba'))?.id, ba.id);
      assert.equal((await store.getByKey('jwt_secrets', 'i15-jwt'))?.id, jwt.id);
      assert.equal((await store.getByKey('hmacauth_credentials', 'i15-hmac'))?.id, hmac.id);
      assert.deepEqual((await store.list('acls', { size: 10, tags: { values: ['t'], mode: 'and' } })).data.map((a) => a.id), [acl.id]);
      const group = row('consumer_groups', { name: 'i15-group' });
      await store.insert('consumer_groups', group);
      const member = row('consumer_group_consumers', { consumer_group: { id: group.id }, consumer: c });
      await store.insert('consumer_group_consumers', member);
      await rejects(store.insert('consumer_group_consumers', row('consumer_group_consumers', { consumer_group: { id: group.id }, consumer: c })), 'UNIQUE_VIOLATION');
      const set = row('key_sets', { name: 'i15-set' });
      await store.insert('key_sets', set);
      const key = row('keys', { name: 'i15-key', kid: 'k', set: { id: set.id }, jwk: '{vault://env/x}' });
      await store.insert('keys', key);
      const vault = row('vaults', { prefix: 'i15-vault', name: 'env' });
      await store.insert('vaults', vault);
      assert.equal((await store.getByKey('vaults', 'i15-vault'))?.id, vault.id);

      await store.delete('consumers', consumer.id);
      for (const [e, id] of [['acls', acl.id], ['basicauth_credentials', ba.id], ['jwt_secrets', jwt.id], ['hmacauth_credentials', hmac.id], ['consumer_group_consumers', member.id]] as const) {
        assert.equal(await store.get(e, id), null, `${e} went with the consumer`);
      }
      assert.ok(await store.get('consumer_groups', group.id), 'the group stays');
      await store.delete('key_sets', set.id);
      assert.equal(await store.get('keys', key.id), null, 'keys go with their set');
      await store.delete('consumer_groups', group.id);
      await store.delete('vaults', vault.id);
    });

    it("a consumer group's plugins: one per plugin name in the group (cache key), listed by group, deleted with it", async () => {
      const group = row('consumer_groups', { name: 'cg-plugins' });
      await store.insert('consumer_groups', group);
      const g = { id: group.id };
      const scoped = row('plugins', { name: 'store-contract-plugin', consumer_group: g });
      await store.insert('plugins', scoped);
      await rejects(store.insert('plugins', row('plugins', { name: 'store-contract-plugin', consumer_group: g })), 'UNIQUE_VIOLATION');
      const other = row('consumer_groups', { name: 'cg-plugins-other' });
      await store.insert('consumer_groups', other);
      const elsewhere = row('plugins', { name: 'store-contract-plugin', consumer_group: { id: other.id } });
      await store.insert('plugins', elsewhere);
      assert.deepEqual((await store.list('plugins', { size: 10, foreign: { field: 'consumer_group', id: group.id } })).data.map((p) => p.id), [scoped.id]);
      await store.delete('consumer_groups', group.id);
      assert.equal(await store.get('plugins', scoped.id), null, 'the plugin went with its group');
      assert.ok(await store.get('plugins', elsewhere.id), "another group's stays");
      await store.delete('consumer_groups', other.id);
    });

    it("deletes a route's and a consumer's plugins with them", async () => {
      const route = row('routes', { paths: ['/cascade-route'] });
      await store.insert('routes', route);
      const consumer = row('consumers', { username: 'cascade-consumer' });
      await store.insert('consumers', consumer);
      const onRoute = row('plugins', { name: 'store-contract-plugin', route: { id: route.id } });
      const onConsumer = row('plugins', { name: 'store-contract-plugin', consumer: { id: consumer.id } });
      await store.insert('plugins', onRoute);
      await store.insert('plugins', onConsumer);
      await store.delete('routes', route.id);
      await store.delete('consumers', consumer.id);
      assert.equal(await store.get('plugins', onRoute.id), null);
      assert.equal(await store.get('plugins', onConsumer.id), null);
    });

    it("deletes a certificate's SNIs with it, but not a certificate a service uses", async () => {
      const { cert, key } = selfSignedPair();
      const certificate = row('certificates', { cert, key });
      await store.insert('certificates', certificate);
      const sni = row('snis', { name: 'cascade.example', certificate: { id: certificate.id } });
      await store.insert('snis', sni);
      assert.equal((await store.getByKey('snis', 'cascade.example'))?.id, sni.id);
      await store.delete('certificates', certificate.id);
      assert.equal(await store.get('snis', sni.id), null);

      const used = row('certificates', { cert, key });
      await store.insert('certificates', used);
      await store.insert('services', row('services', { name: 'mtls-svc', url: 'https://mtls.example', client_certificate: { id: used.id } }));
      await rejects(store.delete('certificates', used.id), 'FOREIGN_KEY_VIOLATION', { '@referenced_by': 'services' });
    });

    it('refuses to delete a CA certificate a service trusts, and the same CA twice', async () => {
      const ca = row('ca_certificates', { cert: CA_CERT });
      await store.insert('ca_certificates', ca);
      await rejects(store.insert('ca_certificates', row('ca_certificates', { cert: CA_CERT })), 'UNIQUE_VIOLATION', { cert_digest: ca.cert_digest });
      const svc = row('services', { name: 'trusting-svc', url: 'https://t.example', ca_certificates: [ca.id] });
      await store.insert('services', svc);
      await rejects(store.delete('ca_certificates', ca.id), 'FOREIGN_KEY_VIOLATION', { '@referenced_by': 'services' });
      await store.delete('services', svc.id);
      assert.equal(await store.delete('ca_certificates', ca.id), true);
    });

    it("deletes an upstream's targets with it and refuses the same target twice", async () => {
      const up = row('upstreams', { name: 'cascade-upstream' });
      await store.insert('upstreams', up);
      const t = row('targets', { target: '10.0.0.1:8080', upstream: { id: up.id } });
      await store.insert('targets', t);
      await rejects(store.insert('targets', row('targets', { target: '10.0.0.1:8080', upstream: { id: up.id } })), 'UNIQUE_VIOLATION');
      const page = await store.list('targets', { size: 10, foreign: { field: 'upstream', id: up.id } });
      assert.deepEqual(page.data.map((x) => x.id), [t.id]);
      await store.delete('upstreams', up.id);
      assert.equal(await store.get('targets', t.id), null);
    });

    it('pages through a collection with size and offset in a stable order', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const c = row('consumers', { username: `page-${i}`, tags: ['paging'] });
        await store.insert('consumers', c);
        ids.push(c.id);
      }
      const seen: string[] = [];
      let offset: string | null = null;
      let pages = 0;
      do {
        const page: ListPage<EntityMap['consumers']> = await store.list('consumers', { size: 2, offset, tags: { values: ['paging'], mode: 'and' } });
        assert.ok(page.data.length <= 2);
        seen.push(...page.data.map((c) => c.id));
        offset = page.offset;
        pages++;
      } while (offset !== null);
      assert.equal(pages, 3);
      assert.deepEqual([...seen].sort(), [...ids].sort());
      assert.equal(new Set(seen).size, 5, 'no row twice');
      await rejects(store.list('consumers', { size: 2, offset: '!!not-an-offset' }), 'INVALID_OFFSET');
    });

    it('filters by tags: a,b means all of them, a/b means any of them', async () => {
      const both = row('upstreams', { name: 'tags-both', tags: ['t-red', 't-blue'] });
      const red = row('upstreams', { name: 'tags-red', tags: ['t-red'] });
      const none = row('upstreams', { name: 'tags-none' });
      for (const u of [both, red, none]) await store.insert('upstreams', u);
      const and = await store.list('upstreams', { size: 100, tags: { values: ['t-red', 't-blue'], mode: 'and' } });
      assert.deepEqual(and.data.map((u) => u.name), ['tags-both']);
      const or = await store.list('upstreams', { size: 100, tags: { values: ['t-blue', 't-red'], mode: 'or' } });
      assert.deepEqual(or.data.map((u) => u.name).sort(), ['tags-both', 'tags-red']);
    });

    it('bumps the configuration version on every write and tells listeners after the commit', async () => {
      const events: ChangeEvent[] = [];
      store.onChange((e) => events.push(e));
      const before = (await store.snapshot()).version;
      const c = row('consumers', { username: 'versioned' });
      await store.insert('consumers', c);
      await store.update('consumers', { ...c, custom_id: 'v-1' });
      await store.delete('consumers', c.id);
      await rejects(store.insert('consumers', row('consumers', { username: 'alice' })), 'UNIQUE_VIOLATION');
      const after = (await store.snapshot()).version;
      assert.equal(after, before + 3, 'three committed writes, the refused one does not count');
      await waitFor(() => events.length >= 3);
      assert.deepEqual(
        events.map((e) => e.version),
        [before + 1, before + 2, before + 3],
      );
    });

    it('replaces the whole configuration atomically, and a failing replacement leaves the old one', async () => {
      const svc = row('services', { name: 'replaced-svc', host: 'r.example' });
      const route = row('routes', { name: 'replaced-route', paths: ['/r'], service: { id: svc.id } });
      const consumer = row('consumers', { username: 'replaced-consumer' });
      const v1 = await store.replaceAll({ ...emptyConfig(), services: [svc], routes: [route], consumers: [consumer] });
      let snap = await store.snapshot();
      assert.equal(snap.version, v1);
      assert.deepEqual(snap.services, [svc]);
      assert.deepEqual(snap.routes, [route]);
      assert.deepEqual(snap.consumers, [consumer]);
      assert.deepEqual(snap.plugins, []);

      const bad = row('routes', { paths: ['/bad'], service: { id: randomUUID() } });
      await rejects(store.replaceAll({ ...emptyConfig(), services: [row('services', { name: 'never', host: 'n.example' })], routes: [bad] }), 'FOREIGN_KEY_VIOLATION');
      const dupe = row('consumers', { username: 'twice' });
      await rejects(store.replaceAll({ ...emptyConfig(), consumers: [dupe, { ...row('consumers', { username: 'twice' }) }] }), 'UNIQUE_VIOLATION');
      snap = await store.snapshot();
      assert.equal(snap.version, v1, 'failed replacements do not bump the version');
      assert.deepEqual(snap.services, [svc]);
      assert.deepEqual(snap.routes, [route]);
      assert.equal(await store.getByKey('services', 'never'), null);
    });
  });
}

describe('store contract: memory in DB-less mode', () => {
  it('refuses entity writes but accepts a whole new configuration', async () => {
    const svc = row('services', { name: 'dbless', host: 'd.example' });
    const store = createMemoryStore({ ...emptyConfig(), services: [svc] }, { readOnly: true });
    assert.equal(store.readOnly, true);
    assert.deepEqual((await store.snapshot()).services, [svc]);
    await rejects(store.insert('services', row('services', { host: 'x.example' })), 'READ_ONLY');
    await rejects(store.delete('services', svc.id), 'READ_ONLY');
    const v = await store.replaceAll({ ...emptyConfig(), consumers: [row('consumers', { username: 'dbless-user' })] });
    const snap = await store.snapshot();
    assert.equal(snap.version, v);
    assert.deepEqual(snap.services, []);
    assert.equal(snap.consumers.length, 1);
    await store.close();
  });
});

describe('store contract: postgres across nodes', () => {
  it("hears about another node's change through LISTEN/NOTIFY", async () => {
    const schema = `store_nodes_${randomUUID().replaceAll('-', '')}`;
    const a = await openStore('postgres', { ...PG, schema });
    const b = await openStore('postgres', { ...PG, schema });
    try {
      const heard: number[] = [];
      b.onChange((e) => heard.push(e.version));
      const c = row('consumers', { username: 'from-node-a' });
      await a.insert('consumers', c);
      await waitFor(() => heard.length > 0);
      assert.equal(heard.at(-1), (await a.snapshot()).version);
      assert.equal((await b.get('consumers', c.id))?.username, 'from-node-a');
    } finally {
      await a.close();
      await b.close();
      await dropSchema(schema);
    }
  });
});

describe('store contract: postgres cluster events (src/core/cluster-events.ts)', () => {
  it('an event reaches every node now, is read back by a node that subscribes later, and is gone once expired', async () => {
    const schema = `store_events_${randomUUID().replaceAll('-', '')}`;
    const a = await openStore('postgres', { ...PG, schema });
    const b = await openStore('postgres', { ...PG, schema });
    try {
      assert.ok(a.events !== undefined && b.events !== undefined);
      const atB: string[] = [];
      b.events.subscribe('test:channel', (d) => atB.push(d));
      b.events.subscribe('test:other', () => assert.fail('another channel'));
      await a.events.broadcast('test:channel', 'one', 60);
      await waitFor(() => atB.length === 1);
      assert.deepEqual(atB, ['one']);
      // Larger than a NOTIFY payload may be: sent by id, read from the table.
      const big = 'x'.repeat(10_000);
      await a.events.broadcast('test:channel', big, 60);
      await waitFor(() => atB.length === 2);
      assert.equal(atB[1], big);
      await a.events.broadcast('test:channel', 'short-lived', 1);
      await waitFor(() => atB.length === 3);

      // A node starting later: the kept events, in order; the expired one not.
      const c = await openStore('postgres', { ...PG, schema });
      try {
        await waitUntil('the short-lived event to expire', async () => {
          const got: string[] = [];
          const stop = c.events!.subscribe('test:channel', (d) => got.push(d));
          await waitUntil('the replay', () => got.length >= 2, 5000);
          stop();
          return got.length === 2 && got[0] === 'one' && got[1] === big;
        }, 5000, 100);
      } finally {
        await c.close();
      }
      // SQLite and DB-less have none: their node is the whole cluster.
      assert.equal(createMemoryStore().events, undefined);
    } finally {
      await a.close();
      await b.close();
      await dropSchema(schema);
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  await waitUntil('a condition', cond, timeoutMs);
}
