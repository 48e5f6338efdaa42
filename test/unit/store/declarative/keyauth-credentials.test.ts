/**
 * key-auth credentials in kong.yml: nested under their consumer or at the top
 * level with the consumer referenced by username or id, Kong's errors for
 * bad references and duplicate keys, and the export round trip.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exportDeclarative, parseDeclarative } from '../../../../src/store/declarative/index.ts';
// Plugin entries are validated against the plugin registry (src/schema/plugin-schemas.ts).
import '../../../../src/plugins/index.ts';

const FILE = `_format_version: "3.0"
consumers:
- username: luka
  keyauth_credentials:
  - key: top-secret-key
- username: ana
  id: 6f1c6bb4-3f53-4d4b-9f0f-1c7a44c4a0a1
keyauth_credentials:
- key: ana-key
  consumer: ana
- key: ana-second-key
  consumer: 6f1c6bb4-3f53-4d4b-9f0f-1c7a44c4a0a1
  tags: [mobile]
- key: temporary
  consumer: luka
  ttl: 3600
`;

describe('declarative keyauth_credentials', () => {
  it('loads keys nested under a consumer and top-level keys referencing a consumer by username or id', () => {
    const r = parseDeclarative(FILE);
    assert.ok(r.ok, r.ok ? '' : r.message);
    const luka = r.config.consumers.find((c) => c.username === 'luka')!;
    const byKey = new Map(r.config.keyauth_credentials.map((c) => [c.key, c]));
    assert.equal(byKey.get('top-secret-key')!.consumer.id, luka.id);
    assert.equal(byKey.get('ana-key')!.consumer.id, '6f1c6bb4-3f53-4d4b-9f0f-1c7a44c4a0a1');
    assert.equal(byKey.get('ana-second-key')!.consumer.id, '6f1c6bb4-3f53-4d4b-9f0f-1c7a44c4a0a1');
    assert.deepEqual(byKey.get('ana-second-key')!.tags, ['mobile']);
    assert.equal(byKey.get('temporary')!.ttl, 3600);
    assert.equal(byKey.get('top-secret-key')!.ttl, null);
  });

  it('gives each key the same id on every load', () => {
    const a = parseDeclarative(FILE);
    const b = parseDeclarative(FILE);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(
      a.config.keyauth_credentials.map((c) => c.id),
      b.config.keyauth_credentials.map((c) => c.id),
    );
  });

  it('a reference to a consumer that is not declared is Kong\'s invalid reference', () => {
    const r = parseDeclarative(`_format_version: "3.0"\nkeyauth_credentials:\n- key: k1\n  consumer: nobody\n`);
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.deepEqual(r.fields, { keyauth_credentials: { k1: ["invalid reference 'consumer: nobody' (no such entry in 'consumers')"] } });
  });

  it('the same key twice is a uniqueness violation', () => {
    const r = parseDeclarative(`_format_version: "3.0"\nconsumers:\n- username: luka\n  keyauth_credentials:\n  - key: k1\n  - key: k1\n`);
    assert.ok(!r.ok);
    assert.deepEqual(r.fields, { keyauth_credentials: { k1: "uniqueness violation: 'keyauth_credentials' entity with key set to 'k1' already declared" } });
  });

  it('a nested key must not name its consumer, and a top-level key must', () => {
    const nested = parseDeclarative(`_format_version: "3.0"\nconsumers:\n- username: luka\n  keyauth_credentials:\n  - key: k1\n    consumer: luka\n`);
    assert.ok(!nested.ok);
    assert.deepEqual(nested.fields, { consumers: [{ keyauth_credentials: [{ consumer: 'value must be null' }] }] });
    const orphan = parseDeclarative(`_format_version: "3.0"\nkeyauth_credentials:\n- key: k1\n`);
    assert.ok(!orphan.ok);
    assert.deepEqual(orphan.fields, { keyauth_credentials: [{ consumer: 'required field missing' }] });
  });

  it('exports keys with the consumer as an id and ttl as seconds left, and loads the export back', () => {
    const r = parseDeclarative(FILE);
    assert.ok(r.ok);
    const doc = exportDeclarative({ ...r.config, version: 1 });
    const rows = doc.keyauth_credentials as Array<Record<string, unknown>>;
    assert.equal(rows.length, 4);
    for (const row of rows) {
      assert.equal(typeof row.consumer, 'string');
      assert.equal('ttl_expires_at' in row, false);
    }
    const temporary = rows.find((row) => row.key === 'temporary')!;
    assert.ok((temporary.ttl as number) > 3590 && (temporary.ttl as number) <= 3600);
    const again = parseDeclarative(JSON.stringify(doc));
    assert.ok(again.ok, again.ok ? '' : again.message);
    assert.deepEqual(
      again.config.keyauth_credentials.map((c) => [c.id, c.key, c.consumer.id]).sort(),
      r.config.keyauth_credentials.map((c) => [c.id, c.key, c.consumer.id]).sort(),
    );
  });

  it('leaves expired keys out of the export', () => {
    const r = parseDeclarative(FILE);
    assert.ok(r.ok);
    const config = { ...r.config, keyauth_credentials: r.config.keyauth_credentials.map((c) => (c.key === 'temporary' ? { ...c, ttl_expires_at: 1 } : c)) };
    const rows = exportDeclarative({ ...config, version: 1 }).keyauth_credentials as Array<Record<string, unknown>>;
    assert.deepEqual(rows.map((row) => row.key).sort(), ['ana-key', 'ana-second-key', 'top-secret-key']);
  });
});
