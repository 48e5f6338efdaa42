/**
 * ARCHITECTURE principle 13, enforced: every field of every entity schema
 * (src/schema/entities/) and plugin schema (src/plugins/<name>/schema.ts) has
 * an effect, or is listed with its reason in the one "accepted, no effect"
 * table (src/schema/compatibility.ts, rendered into docs/compatibility.md).
 *
 * "Has an effect" is decided statically: the field's name is read by the
 * code of its entity/plugin — a property access (`.name`, `['name']`) or the
 * name as a string literal (a refusal rule, a lookup by name) — outside the
 * schema declaration. Entities are looked up in all of src/ but src/dev and
 * the other schema files (their own definition file counts: refusal checks
 * live there); plugins in their own directory plus src/redis (the shared
 * Redis connection code). Known limits: a common name (`host`) is found
 * easily, so the scan proves little for those; it does catch a new or
 * renamed field that nothing reads, which is the failure this guards.
 *
 * Names built at run time are declared below with the constant they are
 * built from (DYNAMIC), so a new kind not in that constant still fails.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENTITIES } from '../../../src/schema/entities/index.ts';
import { enabledPlugins, getPlugin, loadAllPlugins } from '../../../src/plugins/index.ts';
import { effectiveSchema, kongOf } from '../../../src/schema/typedefs.ts';
import { NO_EFFECT, coveredByNoEffect, renderNoEffectTable } from '../../../src/schema/compatibility.ts';
import { TOKEN_HEADER_KINDS } from '../../../src/plugins/openid-connect/headers.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');

type Obj = Record<string, unknown>;

/** Names read through a name built at run time, from the constant that builds them. */
const DYNAMIC: Record<string, ReadonlySet<string>> = {
  // headers.ts reads c[`upstream_${kind}_header`] / c[`downstream_${kind}_header`].
  'plugins/openid-connect': new Set(TOKEN_HEADER_KINDS.flatMap((k) => [`upstream_${k}_header`, `downstream_${k}_header`])),
};

/**
 * Records handed on whole to a library that reads their members by the
 * standard's names (so no member is named in our code).
 */
const WHOLE: Record<string, Record<string, string>> = {
  'plugins/openid-connect': { client_jwk: 'each entry is a JWK (RFC 7517) passed whole to jose importJWK' },
};

function files(dir: string, acc: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) files(p, acc);
    else if (p.endsWith('.ts')) acc.push(p);
  }
  return acc;
}

const ALL = files(SRC);
const text = new Map(ALL.map((f) => [f, readFileSync(f, 'utf8')]));
const isSchemaFile = (f: string) => f.includes('/src/schema/') || /\/src\/plugins\/[^/]+\/schema\.ts$/.test(f);

/** Every field path of a schema (records and record elements of arrays walked; foreign keys and maps not). */
function fieldPaths(schema: Obj, prefix: string[] = [], out: string[][] = []): string[][] {
  const s = effectiveSchema(schema);
  if (s.type === 'array' && s.items !== undefined) return fieldPaths(s.items as Obj, prefix, out);
  if (s.type === 'object' && s.properties !== undefined && kongOf(s).type !== 'foreign' && kongOf(s).type !== 'map') {
    for (const [k, v] of Object.entries(s.properties as Obj)) {
      const kong = kongOf(effectiveSchema(v as Obj));
      // Set by the gateway itself (ids, timestamps): their effect is being there.
      if (kong.auto === true || kong.timestamp === true) continue;
      out.push([...prefix, k]);
      fieldPaths(v as Obj, [...prefix, k], out);
    }
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The name read as a property or named as a string literal. */
function readsName(source: string, name: string): boolean {
  const n = escapeRe(name);
  return new RegExp(`\\.${n}\\b|\\[\\s*['"\`]${n}['"\`]\\s*\\]|['"\`]${n}['"\`]`).test(source);
}

function unread(schemaName: string, schema: Obj, sources: string[]): string[] {
  const missing: string[] = [];
  for (const path of fieldPaths(schema)) {
    const dotted = path.join('.');
    const name = path[path.length - 1]!;
    if (coveredByNoEffect(schemaName, dotted)) continue;
    if (DYNAMIC[schemaName]?.has(name)) continue;
    const whole = WHOLE[schemaName];
    if (whole !== undefined && path.length > 1 && whole[path[0]!] !== undefined) continue;
    if (sources.some((f) => readsName(text.get(f)!, name))) continue;
    missing.push(dotted);
  }
  return missing;
}

/** Definition files not named after their entity (`jwt_secrets` → jwt-secrets.ts). */
const ENTITY_FILES: Record<string, string> = { consumer_group_consumers: 'consumer-groups.ts' };

function entitySources(entity: string): string[] {
  const own = join(SRC, 'schema/entities', ENTITY_FILES[entity] ?? `${entity.replaceAll('_', '-')}.ts`);
  return ALL.filter((f) => f === own || (!isSchemaFile(f) && !f.includes('/src/dev/')));
}

function pluginSources(plugin: string): string[] {
  // Shared code plugins hand their records to: the Redis connection, the queue (Kong's `queue` record), the logging plugins' common part.
  const shared = [join(SRC, 'core', 'queue.ts'), join(SRC, 'core', 'queue-params.ts'), join(SRC, 'plugins', 'log-plugin.ts')];
  return ALL.filter((f) => f.startsWith(join(SRC, 'plugins', plugin) + '/') || f.startsWith(join(SRC, 'redis') + '/') || shared.includes(f));
}

loadAllPlugins();

describe('every accepted field has an effect or a documented reason (principle 13)', () => {
  for (const [name, def] of Object.entries(ENTITIES)) {
    it(`entity ${name}`, () => {
      assert.deepEqual(unread(name, def.schema as unknown as Obj, entitySources(name)), [], `fields of ${name} that nothing reads: implement, refuse, or list in src/schema/compatibility.ts`);
    });
  }
  for (const plugin of enabledPlugins()) {
    it(`plugin ${plugin}`, () => {
      const schema = getPlugin(plugin)!.schema as unknown as Obj;
      assert.deepEqual(unread(`plugins/${plugin}`, schema, pluginSources(plugin)), [], `config fields of ${plugin} that nothing reads: implement, refuse, or list in src/schema/compatibility.ts`);
    });
  }

  it('the scan catches a field that nothing reads', () => {
    const bogus = { type: 'object', properties: { host: { type: 'string' }, portcullis_bogus_knob: { type: 'integer', default: 3 } } };
    assert.deepEqual(unread('plugins/rate-limiting', bogus, pluginSources('rate-limiting')), ['portcullis_bogus_knob']);
  });

  it('every table entry names a field that exists (no stale entries)', () => {
    const pathsOf = (schema: string): Set<string> => {
      const s = schema.startsWith('plugins/') ? getPlugin(schema.slice('plugins/'.length))?.schema : ENTITIES[schema as keyof typeof ENTITIES]?.schema;
      assert.ok(s !== undefined, `unknown schema ${schema}`);
      return new Set(fieldPaths(s as unknown as Obj).map((p) => p.join('.')));
    };
    for (const e of NO_EFFECT) {
      const paths = pathsOf(e.schema);
      const ok = e.field.endsWith('.*') ? [...paths].some((p) => p.startsWith(e.field.slice(0, -1))) : paths.has(e.field);
      assert.ok(ok, `${e.schema} ${e.field} is not a field`);
      assert.ok(e.reason.length > 10, `${e.schema} ${e.field} needs a reason`);
    }
  });

  it('docs/compatibility.md carries the table as generated', () => {
    const doc = readFileSync(join(ROOT, 'docs/compatibility.md'), 'utf8');
    const m = /<!-- no-effect-table:start -->\n([\s\S]*?)\n<!-- no-effect-table:end -->/.exec(doc);
    assert.ok(m, 'docs/compatibility.md lacks the no-effect-table markers');
    assert.equal(m[1], renderNoEffectTable(), `regenerate: node ${relative(process.cwd(), fileURLToPath(import.meta.url))} --write-doc`);
  });
});

// `node test/unit/schema/field-effects.test.ts --write-doc` regenerates the table in docs/compatibility.md.
if (process.argv.includes('--write-doc')) {
  const { writeFileSync } = await import('node:fs');
  const path = join(ROOT, 'docs/compatibility.md');
  const doc = readFileSync(path, 'utf8').replace(
    /<!-- no-effect-table:start -->\n[\s\S]*?<!-- no-effect-table:end -->/,
    `<!-- no-effect-table:start -->\n${renderNoEffectTable()}\n<!-- no-effect-table:end -->`,
  );
  writeFileSync(path, doc);
}
