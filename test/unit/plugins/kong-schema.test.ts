/**
 * A kong-pdk plugin's Kong-style `Schema` becomes our validation: Kong's
 * defaults (null for optional fields, records filled from their fields),
 * Kong's field errors, and a refusal naming anything we cannot honour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../src/plugins/index.ts';
import { registerPlugin } from '../../../src/plugins/index.ts';
import { prepareEntity } from '../../../src/schema/validate.ts';
import { pluginSchemaForAdmin } from '../../../src/schema/admin-schema.ts';
import { fromKongPdk } from '../../../src/plugins/custom/js-plugin.ts';

class Noop {
  async access(): Promise<void> {}
}

const plugin = fromKongPdk(
  {
    Plugin: Noop as never,
    Name: 'js-schema-test',
    Version: '1.2.3',
    Priority: 900,
    Schema: [
      { message: { type: 'string' } },
      { level: { type: 'string', one_of: ['low', 'high'], default: 'low' } },
      { count: { type: 'integer', between: [1, 10], required: true } },
      { tags: { type: 'set', elements: { type: 'string' } } },
      { headers: { type: 'map', keys: { type: 'string' }, values: { type: 'string' } } },
      { secret: { type: 'string', referenceable: true } },
      { limits: { type: 'record', fields: [{ second: { type: 'number', gt: 0, default: 5 } }, { hour: { type: 'number' } }] } },
      { list: { type: 'array', elements: { type: 'integer' }, len_min: 1, default: [1] } },
    ],
  },
  '/plugins/js-schema-test.js',
);
registerPlugin(plugin);

test('defaults as Kong fills them: optional → null, records from their fields, declared defaults', () => {
  const r = prepareEntity('plugins', { name: 'js-schema-test', config: { count: 3 } }, { mode: 'insert' });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual((r.row as unknown as { config: unknown }).config, {
    message: null,
    level: 'low',
    count: 3,
    tags: null,
    headers: null,
    secret: null,
    limits: { second: 5, hour: null },
    list: [1],
  });
  assert.equal(plugin.priority, 900);
  assert.equal(plugin.version, '1.2.3');
});

test("Kong's field errors: required, one_of, between, element types, unknown fields", () => {
  const r = prepareEntity('plugins', { name: 'js-schema-test', config: { level: 'mid', count: 11, tags: [1], colour: 'x' } }, { mode: 'insert' });
  assert.equal(r.ok, false);
  const fields = JSON.stringify(r);
  for (const f of ['level', 'count', 'tags', 'colour']) assert.ok(fields.includes(f), `${f} not reported: ${fields}`);
  const missing = prepareEntity('plugins', { name: 'js-schema-test', config: {} }, { mode: 'insert' });
  assert.equal(missing.ok, false);
  assert.match(JSON.stringify(missing), /count/);
});

test('GET /schemas/plugins/{name} shows the Kong field syntax back', () => {
  const s = pluginSchemaForAdmin('js-schema-test')!;
  const config = s.fields.find((f) => 'config' in f)!.config as { fields: Array<Record<string, Record<string, unknown>>> };
  const field = (n: string) => config.fields.find((f) => n in f)![n]!;
  assert.deepEqual(field('level').one_of, ['low', 'high']);
  assert.deepEqual(field('count').between, [1, 10]);
  assert.equal(field('tags').type, 'set');
  assert.equal(field('headers').type, 'map');
  assert.equal(field('secret').referenceable, true);
  assert.equal(field('limits').type, 'record');
});

test('what we cannot honour is refused at load, naming the field or the phase', () => {
  assert.throws(() => fromKongPdk({ Plugin: Noop as never, Schema: [{ p: { type: 'string', match: '^%a+$' } }] }, '/x/js-match.js'), /js-match.*Schema\.p: field attribute 'match' is not supported/);
  assert.throws(() => fromKongPdk({ Plugin: Noop as never, Schema: [{ f: { type: 'function' } }] }, '/x/js-fn.js'), /field type 'function' is not supported/);
  class WithCert {
    async certificate(): Promise<void> {}
  }
  assert.throws(() => fromKongPdk({ Plugin: WithCert as never }, '/x/js-cert.js'), /its certificate handler cannot run in Portcullis/);
});
