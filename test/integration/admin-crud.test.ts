/**
 * The Admin API's entity endpoints over the SQLite store, as a Kong client
 * (decK, Kong Manager, curl scripts) uses them: create / read / upsert /
 * patch / delete by id or name, pagination, tags, nested and foreign-entity
 * endpoints, cascades.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestAdmin, TEST_PLUGIN, type TestAdmin } from '../helpers/admin-api.ts';
import { RSA_CERT, RSA_KEY, EC_CERT, EC_KEY } from '../unit/schema/certs.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

describe('services', () => {
  it('POST creates a service with Kong defaults and the url shorthand expanded (201)', async () => {
    const res = await t.call('POST', '/services', { name: 'orders', url: 'https://orders.internal:8443/v1' });
    assert.equal(res.status, 201);
    assert.equal(res.body.name, 'orders');
    assert.equal(res.body.protocol, 'https');
    assert.equal(res.body.host, 'orders.internal');
    assert.equal(res.body.port, 8443);
    assert.equal(res.body.path, '/v1');
    assert.equal(res.body.retries, 5);
    assert.equal(res.body.connect_timeout, 60000);
    assert.equal(res.body.enabled, true);
    assert.equal(res.body.tags, null);
    assert.match(res.body.id, /^[0-9a-f-]{36}$/);
  });

  it('GET by id and by name return the same service', async () => {
    const byName = await t.call('GET', '/services/orders');
    assert.equal(byName.status, 200);
    const byId = await t.call('GET', `/services/${byName.body.id}`);
    assert.deepEqual(byId.body, byName.body);
  });

  it('PATCH changes only the given fields (200)', async () => {
    const before = await t.call('GET', '/services/orders');
    const res = await t.call('PATCH', '/services/orders', { retries: 2 });
    assert.equal(res.status, 200);
    assert.equal(res.body.retries, 2);
    assert.equal(res.body.host, 'orders.internal');
    assert.equal(res.body.id, before.body.id);
    assert.equal(res.body.created_at, before.body.created_at);
  });

  it('PUT by name creates the service when absent, named after the URL (200)', async () => {
    const res = await t.call('PUT', '/services/billing', { host: 'billing.internal' });
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'billing');
    assert.equal((await t.call('GET', '/services/billing')).status, 200);
  });

  it('PUT replaces the whole service: unspecified fields go back to defaults, the id stays', async () => {
    const first = await t.call('PUT', '/services/billing', { host: 'billing.internal', retries: 1, read_timeout: 5 });
    const second = await t.call('PUT', '/services/billing', { host: 'billing2.internal' });
    assert.equal(second.status, 200);
    assert.equal(second.body.id, first.body.id);
    assert.equal(second.body.retries, 5);
    assert.equal(second.body.read_timeout, 60000);
    assert.equal(second.body.host, 'billing2.internal');
  });

  it('PUT by id creates the service with that id', async () => {
    const id = '9d1b7a3e-7c6b-4f6a-9a7e-3e2a1c0b9d8f';
    const res = await t.call('PUT', `/services/${id}`, { name: 'by-id', host: 'x.internal' });
    assert.equal(res.status, 200);
    assert.equal(res.body.id, id);
  });

  it('DELETE answers 204, then the service is gone (404); deleting again is still 204', async () => {
    assert.equal((await t.call('DELETE', '/services/by-id')).status, 204);
    const gone = await t.call('GET', '/services/by-id');
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body, { message: 'Not found' });
    assert.equal((await t.call('DELETE', '/services/by-id')).status, 204);
  });

  it('a trailing slash addresses the same endpoint', async () => {
    assert.equal((await t.call('GET', '/services/orders/')).status, 200);
  });
});

describe('pagination and tags', () => {
  before(async () => {
    for (let i = 0; i < 5; i++) {
      const tags = i % 2 === 0 ? ['even', 'all'] : ['odd', 'all'];
      const res = await t.call('POST', '/consumers', { username: `page-user-${i}`, tags });
      assert.equal(res.status, 201);
    }
  });

  it('size limits a page; next and offset lead to the following page until next is null', async () => {
    const seen: string[] = [];
    let path: string | null = '/consumers?size=2';
    let pages = 0;
    while (path !== null) {
      const res = await t.call('GET', path);
      assert.equal(res.status, 200);
      assert.ok(res.body.data.length <= 2);
      for (const c of res.body.data) seen.push(c.username);
      if (res.body.next !== null) {
        assert.equal(typeof res.body.offset, 'string');
        assert.equal(res.body.next, `/consumers?offset=${encodeURIComponent(res.body.offset)}&size=2`);
      } else {
        assert.ok(!('offset' in res.body), 'the last page has no offset');
      }
      path = res.body.next;
      pages++;
    }
    assert.ok(pages >= 3);
    assert.equal(new Set(seen).size, seen.length, 'no consumer appears twice');
    for (let i = 0; i < 5; i++) assert.ok(seen.includes(`page-user-${i}`));
  });

  it('without size a page holds up to 100 entities and next is null', async () => {
    const res = await t.call('GET', '/consumers');
    assert.equal(res.body.next, null);
    assert.ok(res.body.data.length >= 5);
  });

  it('tags=a,b lists entities carrying all tags; tags=a/b those carrying any', async () => {
    const and = await t.call('GET', '/consumers?tags=even,all');
    assert.deepEqual(and.body.data.map((c: { username: string }) => c.username).sort(), ['page-user-0', 'page-user-2', 'page-user-4']);
    const or = await t.call('GET', '/consumers?tags=even/odd');
    assert.equal(or.body.data.length, 5);
  });

  it('the tags filter is kept in next', async () => {
    const res = await t.call('GET', '/consumers?tags=all&size=1');
    assert.match(res.body.next, /&tags=all&size=1$/);
  });

  it('/consumers?custom_id= finds a consumer by custom_id', async () => {
    await t.call('PUT', '/consumers/cid-user', { custom_id: 'external-42' });
    const res = await t.call('GET', '/consumers?custom_id=external-42');
    assert.equal(res.status, 200);
    assert.equal(res.body.data.length, 1);
    assert.equal(res.body.data[0].username, 'cid-user');
    assert.equal(res.body.next, null);
    assert.deepEqual((await t.call('GET', '/consumers?custom_id=nobody')).body.data, []);
  });
});

describe('nested endpoints', () => {
  let serviceId: string;
  before(async () => {
    serviceId = (await t.call('PUT', '/services/shop', { host: 'shop.internal' })).body.id;
    await t.call('PUT', '/services/other', { host: 'other.internal' });
  });

  it('POST /services/{service}/routes creates a route attached to that service', async () => {
    const res = await t.call('POST', '/services/shop/routes', { name: 'shop-api', paths: ['/shop'] });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.service, { id: serviceId });
  });

  it('GET /services/{service}/routes lists only that service’s routes', async () => {
    await t.call('POST', '/services/other/routes', { name: 'other-api', paths: ['/other'] });
    const res = await t.call('GET', '/services/shop/routes');
    assert.deepEqual(res.body.data.map((r: { name: string }) => r.name), ['shop-api']);
    assert.equal(res.body.next, null);
  });

  it('GET /services/{service}/routes/{route} serves a route of that service, 404 for another service’s route', async () => {
    assert.equal((await t.call('GET', '/services/shop/routes/shop-api')).status, 200);
    assert.equal((await t.call('GET', '/services/shop/routes/other-api')).status, 404);
    assert.equal((await t.call('GET', '/services/nope/routes')).status, 404);
  });

  it('PATCH /services/{service}/routes/{route} updates the route', async () => {
    const res = await t.call('PATCH', '/services/shop/routes/shop-api', { strip_path: false });
    assert.equal(res.status, 200);
    assert.equal(res.body.strip_path, false);
    assert.deepEqual(res.body.service, { id: serviceId });
  });

  it('GET /routes/{route}/service returns the route’s service; PATCH updates it; DELETE is 405', async () => {
    const get = await t.call('GET', '/routes/shop-api/service');
    assert.equal(get.status, 200);
    assert.equal(get.body.id, serviceId);
    const patch = await t.call('PATCH', '/routes/shop-api/service', { write_timeout: 1234 });
    assert.equal(patch.body.write_timeout, 1234);
    const del = await t.call('DELETE', '/routes/shop-api/service');
    assert.equal(del.status, 405);
    assert.deepEqual(del.body, { message: 'Method not allowed' });
  });

  it('a route without service has no /routes/{route}/service (404)', async () => {
    await t.call('POST', '/routes', { name: 'lonely', paths: ['/lonely'] });
    assert.equal((await t.call('GET', '/routes/lonely/service')).status, 404);
  });

  it('plugins can be created on a service, a route and a consumer through nested endpoints', async () => {
    await t.call('PUT', '/consumers/plugin-owner', {});
    const onService = await t.call('POST', '/services/shop/plugins', { name: TEST_PLUGIN });
    const onRoute = await t.call('POST', '/routes/shop-api/plugins', { name: TEST_PLUGIN });
    const onConsumer = await t.call('POST', '/consumers/plugin-owner/plugins', { name: TEST_PLUGIN });
    assert.equal(onService.status, 201);
    assert.deepEqual(onService.body.service, { id: serviceId });
    assert.equal(onRoute.status, 201);
    assert.equal(onRoute.body.route.id, (await t.call('GET', '/routes/shop-api')).body.id);
    assert.equal(onConsumer.status, 201);
    assert.ok(onConsumer.body.consumer.id);
    const list = await t.call('GET', '/services/shop/plugins');
    assert.deepEqual(list.body.data.map((p: { id: string }) => p.id), [onService.body.id]);
    const nested = await t.call('GET', `/services/shop/plugins/${onService.body.id}`);
    assert.equal(nested.status, 200);
    assert.equal((await t.call('GET', `/services/other/plugins/${onService.body.id}`)).status, 404);
    const svc = await t.call('GET', `/plugins/${onService.body.id}/service`);
    assert.equal(svc.body.id, serviceId);
  });

  it('a second plugin of the same name on the same scope is a 409 unique violation', async () => {
    const res = await t.call('POST', '/services/shop/plugins', { name: TEST_PLUGIN });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 5);
    assert.equal(res.body.name, 'unique constraint violation');
    assert.match(res.body.message, /^UNIQUE violation detected on '\{/);
  });

  it('PATCH on a plugin merges its config with the stored one', async () => {
    const created = await t.call('POST', '/plugins', { name: TEST_PLUGIN, config: { count: 3, names: ['a'] } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.config, { count: 3, names: ['a'], enabled_flag: false, nested: { depth: 2, label: null } });
    const patched = await t.call('PATCH', `/plugins/${created.body.id}`, { config: { enabled_flag: true } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.config.count, 3);
    assert.equal(patched.body.config.enabled_flag, true);
    assert.deepEqual(patched.body.config.names, ['a']);
  });

  it('a route may name its service by name in the body ({"service": {"name": …}})', async () => {
    const res = await t.call('POST', '/routes', { name: 'by-service-name', paths: ['/bsn'], service: { name: 'shop' } });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.service, { id: serviceId });
  });
});

describe('deletes and cascades', () => {
  it('a service with routes cannot be deleted (400 foreign key violation), once its routes are gone it can', async () => {
    const svc = await t.call('PUT', '/services/cascade-svc', { host: 'c.internal' });
    await t.call('POST', '/services/cascade-svc/routes', { name: 'cascade-route', paths: ['/c'] });
    const refused = await t.call('DELETE', '/services/cascade-svc');
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body, {
      code: 4,
      name: 'foreign key violation',
      message: "an existing 'routes' entity references this 'services' entity",
      fields: { '@referenced_by': 'routes' },
    });
    assert.equal((await t.call('GET', '/services/cascade-svc')).status, 200, 'the refused delete left the service in place');
    const plugin = await t.call('POST', '/services/cascade-svc/plugins', { name: TEST_PLUGIN });
    assert.equal((await t.call('DELETE', '/routes/cascade-route')).status, 204);
    assert.equal((await t.call('DELETE', `/services/${svc.body.id}`)).status, 204);
    assert.equal((await t.call('GET', `/plugins/${plugin.body.id}`)).status, 404, "the service's plugins went with it");
  });

  it('deleting a consumer deletes its plugins', async () => {
    await t.call('PUT', '/consumers/leaving', {});
    const plugin = await t.call('POST', '/consumers/leaving/plugins', { name: TEST_PLUGIN });
    assert.equal((await t.call('DELETE', '/consumers/leaving')).status, 204);
    assert.equal((await t.call('GET', `/plugins/${plugin.body.id}`)).status, 404);
  });

  it('DELETE /services/{service}/routes/{route} removes the route, 404 when it is another service’s', async () => {
    await t.call('PUT', '/services/del-a', { host: 'a.internal' });
    await t.call('PUT', '/services/del-b', { host: 'b.internal' });
    await t.call('POST', '/services/del-a/routes', { name: 'del-route', paths: ['/d'] });
    assert.equal((await t.call('DELETE', '/services/del-b/routes/del-route')).status, 404);
    assert.equal((await t.call('DELETE', '/services/del-a/routes/del-route')).status, 204);
    assert.equal((await t.call('GET', '/routes/del-route')).status, 404);
  });
});

describe('certificates and SNIs', () => {
  let certId: string;

  it('POST /certificates with snis creates the SNIs and serves them with the certificate', async () => {
    const res = await t.call('POST', '/certificates', { cert: RSA_CERT, key: RSA_KEY, snis: ['b.example.com', 'a.example.com'] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    certId = res.body.id;
    assert.deepEqual(res.body.snis, ['a.example.com', 'b.example.com']);
    const sni = await t.call('GET', '/snis/a.example.com');
    assert.deepEqual(sni.body.certificate, { id: certId });
    const list = await t.call('GET', `/certificates/${certId}/snis`);
    assert.equal(list.body.data.length, 2);
  });

  it('a certificate can be addressed by one of its SNI names; an unknown name is 404 "SNI not found"', async () => {
    const res = await t.call('GET', '/certificates/a.example.com');
    assert.equal(res.status, 200);
    assert.equal(res.body.id, certId);
    const missing = await t.call('GET', '/certificates/none.example.com');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { message: 'SNI not found' });
  });

  it('an SNI already serving another certificate is refused and nothing is written', async () => {
    const before = (await t.call('GET', '/certificates')).body.data.length;
    const res = await t.call('POST', '/certificates', { cert: EC_CERT, key: EC_KEY, snis: ['a.example.com'] });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 2);
    assert.deepEqual(res.body.fields, { snis: `a.example.com already associated with existing certificate '${certId}'` });
    assert.equal((await t.call('GET', '/certificates')).body.data.length, before);
  });

  it('PATCH with snis replaces the certificate’s SNI list', async () => {
    const res = await t.call('PATCH', `/certificates/${certId}`, { snis: ['c.example.com'] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.snis, ['c.example.com']);
    assert.equal((await t.call('GET', '/snis/a.example.com')).status, 404);
  });

  it('PUT /certificates/{new name} creates a certificate serving that name', async () => {
    const res = await t.call('PUT', '/certificates/new.example.com', { cert: EC_CERT, key: EC_KEY });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.snis, ['new.example.com']);
  });

  it('deleting a certificate deletes its SNIs', async () => {
    assert.equal((await t.call('DELETE', `/certificates/${certId}`)).status, 204);
    assert.equal((await t.call('GET', '/snis/c.example.com')).status, 404);
  });

  it('a CA certificate can only be addressed by id (400 invalid primary key otherwise)', async () => {
    const res = await t.call('GET', '/ca_certificates/not-a-uuid');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 1);
    assert.equal(res.body.name, 'invalid primary key');
  });
});

describe('upstreams and targets', () => {
  it('targets are created, listed, read by address, updated and deleted under their upstream', async () => {
    const up = await t.call('POST', '/upstreams', { name: 'pool' });
    assert.equal(up.status, 201);
    const created = await t.call('POST', '/upstreams/pool/targets', { target: '10.0.0.1:8080', weight: 50 });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.upstream, { id: up.body.id });
    const noPort = await t.call('POST', '/upstreams/pool/targets', { target: '10.0.0.2' });
    assert.equal(noPort.body.target, '10.0.0.2:8000', 'Kong’s default target port');

    const list = await t.call('GET', '/upstreams/pool/targets');
    assert.equal(list.body.data.length, 2);
    assert.equal((await t.call('GET', '/upstreams/pool/targets/all')).body.data.length, 2);

    const byAddress = await t.call('GET', '/upstreams/pool/targets/10.0.0.1:8080');
    assert.equal(byAddress.body.id, created.body.id);

    const patched = await t.call('PATCH', `/upstreams/pool/targets/${created.body.id}`, { weight: 10 });
    assert.equal(patched.body.weight, 10);

    const dup = await t.call('POST', '/upstreams/pool/targets', { target: '10.0.0.1:8080' });
    assert.equal(dup.status, 409);

    const health = await t.call('GET', '/upstreams/pool/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.data[0].health, 'HEALTHCHECKS_OFF');
    assert.equal(health.body.node_id, '11111111-2222-4333-8444-555555555555');

    assert.equal((await t.call('DELETE', '/upstreams/pool/targets/10.0.0.1:8080')).status, 204);
    assert.equal((await t.call('GET', '/upstreams/pool/targets/10.0.0.1:8080')).status, 404);
  });

  it('targets are not reachable outside their upstream (/targets is 404)', async () => {
    assert.equal((await t.call('GET', '/targets')).status, 404);
    assert.equal((await t.call('GET', `/targets/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`)).status, 404);
  });

  it('deleting an upstream deletes its targets', async () => {
    await t.call('PUT', '/upstreams/gone-pool', {});
    const target = await t.call('POST', '/upstreams/gone-pool/targets', { target: '10.9.9.9:80' });
    assert.equal((await t.call('DELETE', '/upstreams/gone-pool')).status, 204);
    const stored = await t.store.get('targets', target.body.id);
    assert.equal(stored, null);
  });
});
