/**
 * `config` of the response-transformer plugin, with Kong's names and defaults
 * (kong/plugins/response-transformer/schema.lua, Kong Gateway 3.x):
 * remove / rename / replace / add / append, each with `headers` and `json`
 * lists (`name` or `name:value`); replace / add / append also carry
 * `json_types`, the type of each `json` value by position.
 */
import { Type, type Static } from '@sinclair/typebox';
import { runCheck } from '../../schema/checks.ts';

const list = () => Type.Array(Type.String(), { default: [] });

const JSON_TYPES = ['boolean', 'number', 'string'] as const;
export type JsonType = (typeof JSON_TYPES)[number];

const jsonTypes = () =>
  Type.Array(Type.Unsafe<JsonType>({ type: 'string', enum: [...JSON_TYPES] }), {
    default: [],
    description: 'List of JSON type names. Specify the types of the JSON values returned when appending\nJSON properties. Each string element can be one of: boolean, number, or string.',
  });

const record = <P extends Record<string, ReturnType<typeof list> | ReturnType<typeof jsonTypes>>>(props: P) =>
  Type.Object(props, { additionalProperties: false, default: {} });

export const schema = Type.Object(
  {
    remove: record({ json: list(), headers: list() }),
    rename: record({ json: list(), headers: list() }),
    replace: record({ json: list(), json_types: jsonTypes(), headers: list() }),
    add: record({ json: list(), json_types: jsonTypes(), headers: list() }),
    append: record({ json: list(), json_types: jsonTypes(), headers: list() }),
  },
  { additionalProperties: false },
);

export type ResponseTransformerConfig = Static<typeof schema>;

/** `name:value` split as Kong's `^([^:]+):*(.-)$`; an empty value is Lua nil (null here). */
export function splitPair(entry: string): { name: string; value: string | null } {
  const m = /^([^:]+):*([\s\S]*)$/.exec(entry);
  if (m === null) return { name: entry, value: null };
  return { name: m[1]!, value: m[2] === '' ? null : m[2]! };
}

type ElementCheck = (entry: string) => string | null;

/** Kong's colon_string_array: elements must match `^[^:]+:.*$`. */
const colon: ElementCheck = (entry) => (/^[^:]+:[\s\S]*$/.test(entry) ? null : `invalid value: ${entry}`);

/** Kong's colon_headers_array (rename.headers): both sides must be valid header names. */
const colonHeaders: ElementCheck = (entry) => {
  const bad = colon(entry);
  if (bad !== null) return bad;
  const m = /^([^:]+):*([\s\S]*)$/.exec(entry)!;
  for (const name of [m[1]!, m[2]!]) if (runCheck('header_name', name) !== null) return `'${name}' is not a valid header`;
  return null;
};

function checkList(values: readonly string[] | undefined, fn: ElementCheck): (string | null)[] | null {
  if (!values) return null;
  const out = values.map(fn);
  if (out.every((e) => e === null)) return null;
  // Kong reports array errors by position; trailing valid entries are not listed.
  while (out.length > 0 && out[out.length - 1] === null) out.pop();
  return out;
}

/** Kong's per-element `match` / custom_validator rules. */
export function check(config: ResponseTransformerConfig): Record<string, unknown> {
  const errors: Record<string, Record<string, unknown>> = {};
  const add = (section: string, field: string, result: unknown) => {
    if (result !== null) (errors[section] ??= {})[field] = result;
  };
  add('rename', 'headers', checkList(config.rename?.headers, colonHeaders));
  add('rename', 'json', checkList(config.rename?.json, colon));
  for (const section of ['replace', 'add', 'append'] as const) {
    add(section, 'headers', checkList(config[section]?.headers, colon));
    add(section, 'json', checkList(config[section]?.json, colon));
  }
  return errors;
}
