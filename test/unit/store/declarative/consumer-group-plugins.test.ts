/**
 * Plugins scoped to a consumer group in kong.yml (Kong Gateway Enterprise):
 * nested under the group (`consumer_groups[].plugins`, also decK's shape) or at
 * the top with `consumer_group: <name or id>`; the export writes them flat and
 * loads back unchanged; a plugin that cannot be scoped to a group is refused
 * naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportDeclarative, parseDeclarative } from '../../../../src/store/declarative/index.ts';
// Plugin entries are validated against the plugin registry (src/schema/plugin-schemas.ts).
import '../../../../src/plugins/index.ts';

const FILE = `_format_version: "3.0"
consumer_groups:
- name: gold
  plugins:
  - name: rate-limiting
    config:
      minute: 100
- name: free
plugins:
- name: rate-limiting
  consumer_group: free
  config:
    minute: 3
- name: rate-limiting
  config:
    minute: 1000
`;

test('nested under the group and at the top by name: each plugin carries its group', () => {
  const r = parseDeclarative(FILE);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.fields));
  const groups = new Map(r.config.consumer_groups.map((g) => [g.id, g.name]));
  const byGroup = new Map(r.config.plugins.map((p) => [p.consumer_group ? groups.get(p.consumer_group.id) : null, p.config.minute]));
  assert.deepEqual(Object.fromEntries(byGroup), { gold: 100, free: 3, null: 1000 });
});

test('ids are deterministic; a global plugin keeps the id Kong OSS gives it', () => {
  const a = parseDeclarative(FILE);
  const b = parseDeclarative(FILE);
  assert.ok(a.ok && b.ok);
  assert.deepEqual(a.config.plugins.map((p) => p.id), b.config.plugins.map((p) => p.id));
  const only = parseDeclarative('_format_version: "3.0"\nplugins:\n- name: rate-limiting\n  config:\n    minute: 1000\n');
  assert.ok(only.ok);
  assert.equal(a.config.plugins.find((p) => !p.consumer_group)!.id, only.config.plugins[0]!.id);
});

test('the export writes consumer_group as an id and reloads unchanged', () => {
  const first = parseDeclarative(FILE);
  assert.ok(first.ok);
  const doc = exportDeclarative(first.config);
  const exported = doc.plugins as Array<{ consumer_group: unknown }>;
  assert.ok(exported.some((p) => typeof p.consumer_group === 'string'));
  const again = parseDeclarative(JSON.stringify(doc));
  assert.ok(again.ok, JSON.stringify(!again.ok && again.fields));
  assert.deepEqual(again.config.plugins, first.config.plugins);
  assert.deepEqual(again.config.consumer_groups, first.config.consumer_groups);
});

test('a plugin Kong cannot scope to a group, nested or at the top: refused naming consumer_group', () => {
  const nested = parseDeclarative('_format_version: "3.0"\nconsumer_groups:\n- name: gold\n  plugins:\n  - name: cors\n');
  assert.ok(!nested.ok);
  assert.deepEqual(nested.fields, { consumer_groups: [{ plugins: [{ consumer_group: 'value must be null' }] }] });
  const top = parseDeclarative('_format_version: "3.0"\nconsumer_groups:\n- name: gold\nplugins:\n- name: key-auth\n  consumer_group: gold\n');
  assert.ok(!top.ok);
  assert.deepEqual(top.fields, { plugins: [{ consumer_group: 'value must be null' }] });
});

test('an unknown group named at the top is an unresolved reference', () => {
  const r = parseDeclarative('_format_version: "3.0"\nplugins:\n- name: rate-limiting\n  consumer_group: nope\n  config:\n    minute: 1\n');
  assert.ok(!r.ok);
  assert.match(JSON.stringify(r.fields), /consumer_group/);
});
