/**
 * `config` of the request-transformer plugin, with Kong's names and defaults
 * (kong/plugins/request-transformer/schema.lua, Kong Gateway 3.9):
 * remove / rename / replace / add / append, each with body, headers and
 * querystring lists (`name` or `name:value`), plus replace.uri and
 * http_method.
 */
import { Type, type Static } from '@sinclair/typebox';
import { runCheck } from '../../schema/checks.ts';
import { compileTemplate, TemplateError } from './template.ts';

const list = () => Type.Array(Type.String(), { default: [] });

const record = <P extends Record<string, ReturnType<typeof list>>>(props: P) =>
  Type.Object(props, { additionalProperties: false, default: {} });

export const schema = Type.Object(
  {
    http_method: Type.Union([Type.String({ pattern: '^[A-Z]+$' }), Type.Null()], {
      default: null,
      description: 'A string representing an HTTP method, such as GET, POST, PUT, or DELETE. The string must contain only uppercase letters.',
    }),
    remove: record({ body: list(), headers: list(), querystring: list() }),
    rename: record({ body: list(), headers: list(), querystring: list() }),
    replace: Type.Object(
      { body: list(), headers: list(), querystring: list(), uri: Type.Union([Type.String(), Type.Null()], { default: null }) },
      { additionalProperties: false, default: {} },
    ),
    add: record({ body: list(), headers: list(), querystring: list() }),
    append: record({ body: list(), headers: list(), querystring: list() }),
  },
  { additionalProperties: false },
);

export type RequestTransformerConfig = Static<typeof schema>;

/** `name:value` split as Kong's `^([^:]+):*(.-)$` (extra colons after the name are skipped). */
export function splitPair(entry: string): { name: string; value: string } {
  const m = /^([^:]+):*([\s\S]*)$/.exec(entry);
  if (m === null) return { name: entry, value: '' };
  return { name: m[1]!, value: m[2]! };
}

/** Kong's check_for_value: a name, a non-empty value, and a template we can compile. */
function checkForValue(entry: string): string | null {
  const { name, value } = splitPair(entry);
  if (value === '') return `key '${name}' has no value`;
  try {
    compileTemplate(value);
  } catch (err) {
    return `value '${value}' is not in supported format, error:${err instanceof TemplateError ? err.message : String(err)}`;
  }
  return null;
}

function validHeaderName(name: string): boolean {
  return runCheck('header_name', name) === null;
}

/** Header value per RFC 9110 §5.5: visible characters, spaces and tabs. */
function validHeaderValue(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

type ElementCheck = (entry: string) => string | null;

const headerName: ElementCheck = (entry) => {
  const { name } = splitPair(entry);
  return validHeaderName(name) ? null : `'${name}' is not a valid header`;
};

const colonHeaderValue: ElementCheck = (entry) => {
  if (!/^[^:]+:[\s\S]*$/.test(entry)) return `invalid value: ${entry}`;
  const { name, value } = splitPair(entry);
  if (!validHeaderName(name)) return `'${name}' is not a valid header`;
  if (!validHeaderValue(value)) return `'${value}' is not a valid header`;
  const tpl = checkForValue(entry);
  return tpl !== null && value !== '' ? tpl : null;
};

const colonHeaders: ElementCheck = (entry) => {
  if (!/^[^:]+:[\s\S]*$/.test(entry)) return `invalid value: ${entry}`;
  const { name, value } = splitPair(entry);
  if (!validHeaderName(name)) return `'${name}' is not a valid header`;
  if (!validHeaderName(value)) return `'${value}' is not a valid header`;
  return null;
};

function checkList(values: readonly string[] | undefined, fn: ElementCheck): (string | null)[] | null {
  if (!values) return null;
  let bad = false;
  const out: (string | null)[] = values.map((v) => {
    const e = fn(v);
    if (e !== null) bad = true;
    return e;
  });
  if (!bad) return null;
  // Kong reports array errors by position; trailing valid entries are not listed.
  while (out.length > 0 && out[out.length - 1] === null) out.pop();
  return out;
}

/** Kong's per-element validators (custom_validator / match) for every list. */
export function check(config: RequestTransformerConfig): Record<string, unknown> {
  const errors: Record<string, Record<string, unknown>> = {};
  const add = (section: string, field: string, result: unknown) => {
    if (result === null) return;
    (errors[section] ??= {})[field] = result;
  };
  add('remove', 'headers', checkList(config.remove?.headers, headerName));
  add('rename', 'headers', checkList(config.rename?.headers, colonHeaders));
  add('rename', 'body', checkList(config.rename?.body, checkForValue));
  add('rename', 'querystring', checkList(config.rename?.querystring, checkForValue));
  for (const section of ['replace', 'add', 'append'] as const) {
    add(section, 'headers', checkList(config[section]?.headers, colonHeaderValue));
    add(section, 'body', checkList(config[section]?.body, checkForValue));
    add(section, 'querystring', checkList(config[section]?.querystring, checkForValue));
  }
  if (typeof config.replace?.uri === 'string') {
    try {
      compileTemplate(config.replace.uri);
    } catch (err) {
      add('replace', 'uri', `value '${config.replace.uri}' is not in supported format, error:${(err as Error).message}`);
    }
  }
  return errors;
}
