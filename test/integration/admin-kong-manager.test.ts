/**
 * What Kong Manager OSS (Kong/kong-manager ec24ae4) needs of the Admin API,
 * as it asks (issue 19). The requests are the ones its pages send, taken
 * from a run of the built app against Portcullis (docs/kong-manager.md):
 * list pages with `sort_desc=1&size=30`, `ttl: 0` on key-auth credentials,
 * its plugin form's whole config, and the error texts its own specs check.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import '../../src/plugins/index.ts';
import { startTestAdmin, type TestAdmin } from '../helpers/admin-api.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(() => t.close());

describe('Kong Manager: overview and lists', () => {
  it('GET / reports a Kong 3.9 version and the community edition (the overview shows it, features are gated on it)', async () => {
    const res = await t.call('GET', '/');
    assert.equal(res.status, 200);
    assert.match(res.body.version, /^3\.9\.\d+$/);
    assert.equal(res.body.edition, 'community');
    assert.equal(typeof res.body.configuration, 'object');
  });

  for (const path of ['/services', '/routes', '/consumers', '/plugins', '/upstreams', '/certificates', '/ca_certificates', '/snis', '/vaults', '/keys', '/key-sets']) {
    it(`GET ${path}?sort_desc=1&size=30 answers a Kong page`, async () => {
      const res = await t.call('GET', `${path}?sort_desc=1&size=30`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ['data', 'next']);
      assert.ok(Array.isArray(res.body.data));
    });
  }

  it('vaults, keys and key sets created as its forms do are listed, paged with size/offset', async () => {
    let r = await t.call('POST', '/vaults', { name: 'env', prefix: 'my-env', config: { prefix: 'KM_' }, description: 'from Kong Manager', tags: [] });
    assert.equal(r.status, 201, r.text);
    r = await t.call('POST', '/key-sets', { name: 'km-set', tags: [] });
    assert.equal(r.status, 201, r.text);
    const set = r.body.id as string;
    for (const kid of ['a', 'b', 'c']) {
      r = await t.call('POST', '/keys', { name: `key-${kid}`, kid, set: { id: set }, jwk: JSON.stringify({ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid }), tags: [] });
      assert.equal(r.status, 201, r.text);
    }
    const vaults = await t.call('GET', '/vaults?sort_desc=1&size=30');
    assert.deepEqual(vaults.body.data.map((v: { prefix: string }) => v.prefix), ['my-env']);
    const first = await t.call('GET', '/keys?sort_desc=1&size=2');
    assert.equal(first.body.data.length, 2);
    assert.match(first.body.next, /^\/keys\?.*offset=/);
    const offset = new URL(first.body.next, 'http://x').searchParams.get('offset')!;
    const second = await t.call('GET', `/keys?sort_desc=1&size=2&offset=${encodeURIComponent(offset)}`);
    assert.equal(second.body.data.length, 1);
    assert.equal(second.body.next, null);
    const inSet = await t.call('GET', `/key-sets/${set}/keys?sort_desc=1&size=30`);
    assert.equal(inSet.body.data.length, 3);
  });
});

describe('Kong Manager: forms', () => {
  it('a bad route path is named by its position, as Kong: "paths.1: …"', async () => {
    const res = await t.call('POST', '/routes', { name: 'bad', protocols: ['http', 'https'], paths: ['foo'], methods: null, hosts: null, strip_path: true });
    assert.equal(res.status, 400);
    assert.equal(res.body.message, 'schema violation (paths.1: should start with: / (fixed path) or ~/ (regex path))');
    const second = await t.call('POST', '/routes', { paths: ['/ok', 'bad'] });
    assert.equal(second.body.message, 'schema violation (paths.2: should start with: / (fixed path) or ~/ (regex path))');
  });

  it('a key-auth credential with ttl 0 (what its credential form always sends) is created and never expires', async () => {
    await t.call('POST', '/consumers', { username: 'km-user', custom_id: null, tags: [] });
    const res = await t.call('POST', '/consumers/km-user/key-auth', { key: 'km-secret-key', ttl: 0, tags: [] });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.ttl, null);
  });

  it('its openid-connect form, saved with only issuer and client id, creates the plugin (token_exchange left unset)', async () => {
    const payload = JSON.parse(readFileSync(new URL('./fixtures/kong-manager-oidc-create.json', import.meta.url), 'utf8')) as { config: Record<string, unknown> };
    assert.equal((payload.config.token_exchange as Record<string, unknown>).subject_token_issuers, null, 'the fixture is the form as sent');
    const res = await t.call('POST', '/plugins', payload);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.config.token_exchange, null);
    assert.equal(res.body.config.issuer, 'https://idp.example.test/realms/demo');
    assert.deepEqual(res.body.config.client_id, ['portcullis-client']);
    // what it shows when the plugin is opened again for editing: the same config back
    const again = await t.call('GET', `/plugins/${res.body.id}`);
    assert.deepEqual(again.body.config, res.body.config);
  });
});
