/**
 * Issue 19, item 4: a JSON `null` for a field that has a default takes the
 * default, and an optional record (default null) sent with nothing set in it
 * while a field it requires is missing is taken as not set — at every depth,
 * in every bundled plugin's config (records, and records inside arrays).
 * Kong Manager's plugin forms send both shapes (e.g. openid-connect
 * `token_exchange: { cache: { enabled: true }, request: { … }, subject_token_issuers: null }`).
 *
 * Each case compares two inputs that must mean the same thing: the field
 * absent vs. the field null (or the record absent vs. the blank record).
 * Whatever the rest of the config (valid or not), both must give the same
 * result: the same row, or the same errors.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '../../../src/plugins/index.ts';
import { enabledPlugins, getPlugin, loadAllPluginsAsync } from '../../../src/plugins/index.ts';
import { prepareEntity } from '../../../src/schema/validate.ts';
import { effectiveSchema } from '../../../src/schema/typedefs.ts';

type Obj = Record<string, unknown>;
type Step = { key: string; array: boolean };

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const eff = (s: unknown): Obj => effectiveSchema((s ?? {}) as Obj);
const isRecord = (s: Obj): boolean => s.type === 'object' && isObj(s.properties) && ((s.kong as Obj | undefined)?.type ?? 'record') === 'record';
const defaultOf = (prop: Obj): unknown => (prop.default !== undefined ? prop.default : eff(prop).default);
const nullable = (prop: Obj): boolean => JSON.stringify(prop.anyOf ?? prop.oneOf ?? prop.type ?? '').includes('null');

/** The config with `leaf` at the path `steps` (a step marked array holds a one-element array of records). */
function configAt(steps: readonly Step[], leaf: unknown): Obj {
  let value: unknown = leaf;
  for (let i = steps.length - 1; i >= 0; i--) value = { [steps[i]!.key]: steps[i]!.array ? [value] : value };
  return value as Obj;
}

interface Case {
  plugin: string;
  path: string;
  kind: 'null-default' | 'blank-record';
  absent: Obj;
  given: Obj;
}

/** The blank record a form sends for an optional record the user left alone. */
function blankRecord(schema: Obj): Obj {
  const out: Obj = {};
  for (const [key, prop] of Object.entries(eff(schema).properties as Obj)) {
    const d = defaultOf(prop as Obj);
    out[key] = d === undefined ? null : structuredClone(d);
  }
  return out;
}

function lacksRequired(schema: Obj, value: Obj): boolean {
  const props = schema.properties as Obj;
  return ((schema.required as string[] | undefined) ?? []).some((k) => (value[k] === null || value[k] === undefined) && defaultOf(props[k] as Obj) === undefined);
}

function walk(plugin: string, schema: Obj, steps: Step[], out: Case[]): void {
  for (const [key, raw] of Object.entries(eff(schema).properties as Obj)) {
    const prop = raw as Obj;
    const p = eff(prop);
    const here = [...steps, { key, array: false }];
    const path = here.map((s) => s.key + (s.array ? '[]' : '')).join('.');
    const d = defaultOf(prop);
    // a nullable field keeps null: there null is a value of its own (cors `methods: null` is every method, as in Kong's handler)
    if (d !== undefined && d !== null && !nullable(prop)) {
      out.push({ plugin, path, kind: 'null-default', absent: configAt(steps, {}), given: configAt(here, null) });
    }
    if (isRecord(p)) {
      if (nullable(prop) && (d ?? null) === null) {
        const blank = blankRecord(p);
        if (lacksRequired(p, blank)) out.push({ plugin, path, kind: 'blank-record', absent: configAt(steps, {}), given: configAt(here, blank) });
      }
      walk(plugin, p, here, out);
    }
    const items = eff(p.items);
    if (p.type === 'array' && isRecord(items)) walk(plugin, items, [...steps, { key, array: true }], out);
  }
}

function prepare(plugin: string, config: Obj) {
  const result = prepareEntity('plugins', { name: plugin, config }, { mode: 'insert', id: '11111111-2222-4333-8444-555555555555', now: 1_700_000_000_000 });
  return result.ok ? { ok: true, row: result.row } : { ok: false, fields: result.fields };
}

describe('null takes the default, and a blank optional record is not set, in every plugin schema', () => {
  const cases: Case[] = [];
  before(async () => {
    await loadAllPluginsAsync();
    for (const name of enabledPlugins()) {
      const schema = getPlugin(name)?.schema as unknown as Obj | undefined;
      if (schema !== undefined) walk(name, schema, [], cases);
    }
  });

  it('walks the record fields of every bundled plugin (a fault at any depth would show)', () => {
    const plugins = new Set(cases.map((c) => c.plugin));
    assert.ok(plugins.size >= 15, `cases for ${plugins.size} plugins`);
    assert.ok(cases.some((c) => c.path === 'redis.port'), 'nested record fields are walked');
    assert.ok(cases.some((c) => c.plugin === 'openid-connect' && c.path === 'token_exchange' && c.kind === 'blank-record'));
    assert.ok(cases.some((c) => c.path.includes('[].')), 'records inside arrays are walked');
  });

  it('each field with a default: null gives what leaving it out gives', () => {
    const wrong: string[] = [];
    for (const c of cases.filter((x) => x.kind === 'null-default')) {
      const a = prepare(c.plugin, c.absent);
      const g = prepare(c.plugin, c.given);
      if (!isDeepEq(a, g)) wrong.push(`${c.plugin} config.${c.path}: ${JSON.stringify(g).slice(0, 200)}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('each optional record: the blank record a form sends gives what leaving it out gives', () => {
    const wrong: string[] = [];
    for (const c of cases.filter((x) => x.kind === 'blank-record')) {
      const a = prepare(c.plugin, c.absent);
      const g = prepare(c.plugin, c.given);
      if (!isDeepEq(a, g)) wrong.push(`${c.plugin} config.${c.path}: ${JSON.stringify(g).slice(0, 200)}`);
    }
    assert.deepEqual(wrong, []);
  });

  it("Kong Manager's openid-connect form, saved with only issuer and client id, is accepted with token_exchange null", () => {
    const r = prepare('openid-connect', {
      issuer: 'https://idp.example.test/realms/demo',
      client_id: ['portcullis-client'],
      token_exchange: { cache: { enabled: true }, request: { empty_audience: false, empty_scopes: false }, subject_token_issuers: null },
      redis: { cloud_authentication: { aws_is_serverless: true }, cluster_nodes: null, port: 6379, host: '127.0.0.1' },
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(((r as { row: { config: Obj } }).row.config).token_exchange, null);
  });

  it('what stays an error: a required field without default set to null, and a record with something set but its required field missing', () => {
    const noIssuer = prepare('openid-connect', { issuer: null });
    assert.deepEqual((noIssuer as { fields: Obj }).fields, { config: { issuer: 'required field missing' } });
    const half = prepare('openid-connect', { issuer: 'https://idp.example.test/', token_exchange: { cache: { enabled: false }, subject_token_issuers: null } });
    assert.deepEqual((half.fields as { config: Obj } | undefined)?.config.token_exchange, { subject_token_issuers: 'required field missing' });
  });
});

function isDeepEq(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
