/**
 * Export (`GET /config`, `kong config db_export` shape) and the round trip:
 * what Portcullis exports, Portcullis (and Kong) load back unchanged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { exportDeclarative, exportDeclarativeYaml, parseDeclarative } from '../../../../src/store/declarative/index.ts';
// Plugin entries are validated against the plugin registry (src/schema/plugin-schemas.ts).
import '../../../../src/plugins/index.ts';

const FILE = `_format_version: "3.0"
services:
- name: orders
  url: http://orders.internal:8080/v1
  tags: [team-a]
  routes:
  - name: orders-api
    paths: [/orders]
    plugins:
    - name: cors
  plugins:
  - name: correlation-id
consumers:
- username: alice
  custom_id: a-1
upstreams:
- name: pool
  targets:
  - target: 10.0.0.1:8080
    weight: 50
`;

describe('declarative export', () => {
  it('writes _format_version "3.0", _transform false and flat lists with foreign keys as ids', () => {
    const r = parseDeclarative(FILE);
    assert.ok(r.ok);
    const doc = exportDeclarative({ ...r.config, version: 1 });
    assert.equal(doc._format_version, '3.0');
    assert.equal(doc._transform, false);
    const routes = doc.routes as Array<Record<string, unknown>>;
    assert.equal(routes[0]!.service, r.config.services[0]!.id);
    const plugins = doc.plugins as Array<Record<string, unknown>>;
    assert.equal(plugins.find((p) => p.name === 'cors')!.route, r.config.routes[0]!.id);
    assert.equal((doc.targets as Array<Record<string, unknown>>)[0]!.upstream, r.config.upstreams[0]!.id);
    // dependency order: referenced entities come first
    const keys = Object.keys(doc).filter((k) => !k.startsWith('_'));
    assert.ok(keys.indexOf('services') < keys.indexOf('routes'));
    assert.ok(keys.indexOf('routes') < keys.indexOf('plugins'));
    assert.ok(!('certificates' in doc), 'empty entity lists are left out');
  });

  it('keeps every field, nulls included, like Kong db_export', () => {
    const r = parseDeclarative(FILE);
    assert.ok(r.ok);
    const yaml = exportDeclarativeYaml(r.config);
    const loaded = parseYaml(yaml) as Record<string, Array<Record<string, unknown>>>;
    assert.equal(loaded._format_version as unknown, '3.0');
    assert.ok('path_handling' in loaded.routes![0]!);
    assert.equal(loaded.consumers![0]!.tags, null);
  });

  it('round trip: exporting and loading the export gives the same entities and ids', () => {
    const first = parseDeclarative(FILE);
    assert.ok(first.ok);
    const again = parseDeclarative(exportDeclarativeYaml(first.config));
    if (!again.ok) assert.fail(again.message);
    for (const type of ['services', 'routes', 'consumers', 'plugins', 'upstreams', 'targets'] as const) {
      assert.deepEqual(
        [...again.config[type]].sort((a, b) => (a.id < b.id ? -1 : 1)),
        [...first.config[type]].sort((a, b) => (a.id < b.id ? -1 : 1)),
        type,
      );
    }
  });
});
