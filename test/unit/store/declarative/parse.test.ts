/**
 * The declarative loader against Kong's own expectations
 * (spec/02-integration/04-admin_api/15-off_spec.lua and
 * spec/01-unit/01-db/10-declarative_spec.lua): error bodies, error keys,
 * deterministic ids, nesting rules and format-version migrations.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeclarative, loadDeclarative, type DeclarativeError, type DeclarativeOk } from '../../../../src/store/declarative/index.ts';
import { entityUuid, uuidV5 } from '../../../../src/store/declarative/uuid.ts';
import { RSA_CERT, RSA_KEY } from '../../schema/certs.ts';
// Plugin entries are validated against the plugin registry (src/schema/plugin-schemas.ts).
import '../../../../src/plugins/index.ts';

function ok(text: string): DeclarativeOk {
  const r = parseDeclarative(text);
  if (!r.ok) assert.fail(`expected a valid config, got ${r.message}`);
  return r;
}

function bad(text: string): DeclarativeError {
  const r = parseDeclarative(text);
  if (r.ok) assert.fail('expected an invalid config');
  return r;
}

describe('declarative parse: Kong error bodies', () => {
  it('a text that is not a mapping is "failed parsing declarative configuration: expected an object"', () => {
    const r = bad('bobby tables');
    assert.deepEqual(r.body, {
      code: 14,
      name: 'invalid declarative configuration',
      message: 'declarative config is invalid: {error="failed parsing declarative configuration: expected an object"}',
      fields: { error: 'failed parsing declarative configuration: expected an object' },
    });
  });

  it('broken YAML reports the parser error with its location', () => {
    const r = bad('_format_version: "3.0"\nservices:\n  - name: [unclosed\n');
    const fields = r.fields as { error: string };
    assert.match(fields.error, /^failed parsing declarative configuration: /);
    assert.match(fields.error, /line \d+/);
  });

  it('entity field errors are listed per entity position, as Kong prints them', () => {
    const r = bad('_format_version: "1.1"\nservices:\n- port: -12\n');
    assert.deepEqual(r.body, {
      code: 14,
      name: 'invalid declarative configuration',
      message:
        'declarative config is invalid: {services={{host="required field missing",port="value should be between 0 and 65535"}}}',
      fields: { services: [{ host: 'required field missing', port: 'value should be between 0 and 65535' }] },
    });
  });

  it('a duplicate name is reported at the second entry position', () => {
    const r = bad('_format_version: "1.1"\nservices:\n- name: foo\n  host: example.com\n- name: foo\n  host: example.test\n');
    assert.deepEqual(r.fields, { services: [null, "uniqueness violation: 'services' entity with name set to 'foo' already declared"] });
    assert.equal(
      r.message,
      `declarative config is invalid: {services={[2]="uniqueness violation: 'services' entity with name set to 'foo' already declared"}}`,
    );
  });

  it('a duplicate id is a primary key uniqueness violation', () => {
    const id = '0855b320-0dd2-547d-891d-601e9b38647f';
    const r = bad(`_format_version: "1.1"\nservices:\n- id: ${id}\n  name: foo\n  host: a.com\n- id: ${id}\n  name: bar\n  host: b.com\n`);
    assert.deepEqual(r.fields, { services: [null, `uniqueness violation: 'services' entity with primary key set to '${id}' already declared`] });
  });

  it('a duplicate custom_id is reported under the username', () => {
    const r = bad('_format_version: "1.1"\nconsumers:\n- username: foo\n  custom_id: conflict\n- username: bar\n  custom_id: conflict\n');
    assert.deepEqual(r.fields, { consumers: { bar: "uniqueness violation: 'consumers' entity with custom_id set to 'conflict' already declared" } });
  });

  it('references to missing entities are listed for the referencing entity', () => {
    // rate-limiting may be bound to a consumer (cors may not, so its scope error would come first).
    const r = bad('_format_version: "1.1"\nplugins:\n- name: rate-limiting\n  config:\n    minute: 1\n  service: svc1\n  consumer: my-consumer\n');
    assert.deepEqual(r.fields, {
      plugins: [
        [
          "invalid reference 'consumer: my-consumer' (no such entry in 'consumers')",
          "invalid reference 'service: svc1' (no such entry in 'services')",
        ],
      ],
    });
  });

  it('unknown top-level keys and wrong section types are field errors', () => {
    const r = bad('_format_version: "3.0"\nfoo: 1\nservices: 3\n');
    assert.deepEqual(r.fields, { foo: 'unknown field', services: 'expected an array' });
  });

  it('_format_version is required and must be a known version', () => {
    assert.deepEqual(bad('services: []\n').fields, { _format_version: 'required field missing' });
    assert.deepEqual(bad('_format_version: "9.9"\n').fields, { _format_version: 'expected one of: 1.1, 2.1, 3.0' });
  });

  it('a nested entity may not name its parent itself ("value must be null")', () => {
    const r = bad('_format_version: "3.0"\nservices:\n- name: s\n  host: a.com\n  routes:\n  - name: r\n    paths: [/a]\n    service: other\n');
    assert.deepEqual(r.fields, { services: [{ routes: [{ service: 'value must be null' }] }] });
  });

  it('every error of the file is reported at once, nested ones included', () => {
    const r = bad(
      '_format_version: "3.0"\nservices:\n- name: s\n  routes:\n  - name: r\n    paths: nope\n  plugins:\n  - name: no-such-plugin\n',
    );
    const fields = r.fields as { services: Array<Record<string, unknown>> };
    assert.equal(fields.services[0]!.host, 'required field missing');
    assert.deepEqual(fields.services[0]!.routes, [{ paths: 'expected an array' }]);
    assert.deepEqual(fields.services[0]!.plugins, [{ name: "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property" }]);
  });
});

describe('declarative parse: flattened errors (?flatten_errors=1)', () => {
  it('lists one entry per invalid entity with its type, name, tags and the entity as written', () => {
    const r = bad(
      '_format_version: "3.0"\nservices:\n- name: svc\n  tags: [t1]\n  routes:\n  - name: rt\n    paths: nope\n    tags: [t2]\n',
    );
    assert.equal(r.flattenedBody.code, 14);
    assert.equal(r.flattenedBody.message, 'declarative config is invalid: {}');
    assert.deepEqual(r.flattenedBody.fields, {});
    const byType = Object.fromEntries(r.flattenedErrors.map((e) => [e.entity_type, e]));
    assert.deepEqual(byType.route, {
      entity_name: 'rt',
      entity_tags: ['t2'],
      entity_type: 'route',
      entity: { name: 'rt', paths: 'nope', tags: ['t2'] },
      errors: [{ type: 'field', field: 'paths', message: 'expected an array' }],
    });
    assert.deepEqual(byType.service, {
      entity_name: 'svc',
      entity_tags: ['t1'],
      entity_type: 'service',
      entity: { name: 'svc', tags: ['t1'] },
      errors: [{ type: 'field', field: 'host', message: 'required field missing' }],
    });
  });

  it('nested config errors get dotted field names', () => {
    const r = bad('_format_version: "3.0"\nplugins:\n- name: rate-limiting\n  config:\n    minute: -1\n    nope: 1\n');
    const entry = r.flattenedErrors[0]!;
    assert.equal(entry.entity_type, 'plugin');
    const fields = entry.errors.filter((e) => e.type === 'field').map((e) => (e as { field: string }).field);
    assert.ok(fields.some((f) => f.startsWith('config.')), JSON.stringify(entry.errors));
  });
});

describe('declarative parse: ids and relations', () => {
  it('derives ids from endpoint keys exactly as Kong (UUID v5 in the entity namespace)', () => {
    // resty.jit-uuid's documented v5 vectors: our v5 is byte-compatible with Kong's generator
    assert.equal(uuidV5('e6ebd542-06ae-11e6-8e82-bba81706b27d', 'hello'), '4850816f-1658-5890-8bfd-1ed14251f1f0');
    assert.equal(uuidV5('e6ebd542-06ae-11e6-8e82-bba81706b27d', 'foobar'), 'c9be99fc-326b-5066-bdba-dcd31a6d01ab');
    const r = ok('_format_version: "3.0"\nservices:\n- name: foo\n  host: a.com\nconsumers:\n- username: bobo\n');
    assert.equal(r.config.services[0]!.id, entityUuid('services', 'foo'));
    assert.equal(r.config.consumers[0]!.id, entityUuid('consumers', 'bobo'));
  });

  it('loading the same file twice keeps every id, unnamed entities included', () => {
    const text =
      '_format_version: "3.0"\nservices:\n- host: a.com\n  routes:\n  - paths: [/a]\n    plugins:\n    - name: cors\ncertificates: []\nupstreams:\n- name: up\n  targets:\n  - target: 10.0.0.1:80\n';
    const a = ok(text);
    const b = ok(text);
    assert.deepEqual(
      [a.config.services[0]!.id, a.config.routes[0]!.id, a.config.plugins[0]!.id, a.config.targets[0]!.id],
      [b.config.services[0]!.id, b.config.routes[0]!.id, b.config.plugins[0]!.id, b.config.targets[0]!.id],
    );
    assert.equal(a.hash, b.hash);
  });

  it('a target id is unique per upstream (key composed with the upstream id)', () => {
    const r = ok(
      '_format_version: "3.0"\nupstreams:\n- name: u1\n  targets:\n  - target: 10.0.0.1:80\n- name: u2\n  targets:\n  - target: 10.0.0.1:80\n',
    );
    assert.equal(r.config.targets.length, 2);
    assert.notEqual(r.config.targets[0]!.id, r.config.targets[1]!.id);
    assert.equal(r.config.targets[0]!.id, entityUuid('targets', `10.0.0.1:80:${r.config.upstreams[0]!.id}`));
  });

  it('nested children get their parent as foreign key, at any depth', () => {
    const r = ok(
      '_format_version: "3.0"\nservices:\n- name: s\n  host: a.com\n  routes:\n  - name: r\n    paths: [/a]\n    plugins:\n    - name: cors\n  plugins:\n  - name: correlation-id\nconsumers:\n- username: c\n  plugins:\n  - name: rate-limiting\n    config: { minute: 5 }\ncertificates: []\n',
    );
    const svc = r.config.services[0]!;
    const route = r.config.routes[0]!;
    assert.deepEqual(route.service, { id: svc.id });
    const cors = r.config.plugins.find((p) => p.name === 'cors')!;
    assert.deepEqual(cors.route, { id: route.id });
    assert.equal(cors.service, null);
    assert.deepEqual(r.config.plugins.find((p) => p.name === 'correlation-id')!.service, { id: svc.id });
    assert.deepEqual(r.config.plugins.find((p) => p.name === 'rate-limiting')!.consumer, { id: r.config.consumers[0]!.id });
    // the plugin id follows Kong's cache key: plugins:<name>:<route>:<service>:<consumer>
    assert.equal(cors.id, entityUuid('plugins', `plugins:cors:${route.id}::`));
  });

  it('top-level entities reference others by name or by id', () => {
    const r = ok(
      '_format_version: "3.0"\nservices:\n- name: s\n  host: a.com\nroutes:\n- name: by-name\n  paths: [/a]\n  service: s\n- name: by-id\n  paths: [/b]\n  service: ' +
        entityUuid('services', 's') +
        '\nplugins:\n- name: cors\n  route: by-name\n',
    );
    const sid = r.config.services[0]!.id;
    assert.deepEqual(
      r.config.routes.map((x) => x.service),
      [{ id: sid }, { id: sid }],
    );
    assert.deepEqual(r.config.plugins[0]!.route, { id: r.config.routes[0]!.id });
  });

  it('SNIs nested under a certificate belong to it', () => {
    const doc = { _format_version: '3.0', certificates: [{ cert: RSA_CERT, key: RSA_KEY, snis: [{ name: 'a.example.com' }, { name: 'b.example.com' }] }] };
    const r = loadDeclarative(doc);
    if (!r.ok) assert.fail(r.message);
    assert.equal(r.config.snis.length, 2);
    for (const sni of r.config.snis) assert.deepEqual(sni.certificate, { id: r.config.certificates[0]!.id });
    assert.equal(r.config.snis[0]!.id, entityUuid('snis', 'a.example.com'));
  });

  it('files of format 2.1 mark regex route paths with "~", as Kong migrates them', () => {
    const r = ok('_format_version: "2.1"\nroutes:\n- name: r\n  paths: ["/users/\\\\d+", "/plain"]\n');
    assert.deepEqual(r.config.routes[0]!.paths, ['~/users/\\d+', '/plain']);
  });

  it('an empty section (`plugins:` with nothing under it) is an empty list', () => {
    const r = ok('_format_version: "3.0"\nplugins:\nservices:\n- name: s\n  host: a.com\n  routes:\n');
    assert.equal(r.config.services.length, 1);
  });

  it('_comment and _ignore are accepted at the top and in entities', () => {
    const r = ok('_format_version: "3.0"\n_comment: hi\n_ignore: [1]\n_transform: true\nservices:\n- name: s\n  host: a.com\n  _comment: note\n  _ignore:\n  - anything: 1\n');
    assert.equal(r.config.services[0]!.name, 's');
  });

  it('JSON documents load as well as YAML, and an already-parsed document validates the same', () => {
    const json = JSON.stringify({ _format_version: '3.0', services: [{ name: 's', url: 'http://a.com:81/p' }] });
    const r = ok(json);
    assert.equal(r.config.services[0]!.port, 81);
    assert.equal(r.config.services[0]!.path, '/p');
    const again = loadDeclarative(JSON.parse(json) as Record<string, unknown>);
    assert.ok(again.ok);
  });
});
