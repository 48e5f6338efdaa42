/**
 * Turn a validated request-transformer config into plain data: header names
 * lower-cased, `name:value` entries split, every value template compiled
 * (static values kept as plain strings so the common case renders nothing).
 */
import { splitPair, type RequestTransformerConfig } from './schema.ts';
import { compileTemplate, isStatic, type Template } from './template.ts';

export interface Pair {
  /** Name as configured (body and query names are case-sensitive). */
  readonly name: string;
  /** Lower-cased name (headers). */
  readonly lname: string;
  /** Static value, or '' when `tpl` is set. */
  readonly value: string;
  readonly tpl: Template | null;
}

export interface Section {
  readonly headers: readonly Pair[];
  readonly body: readonly Pair[];
  readonly querystring: readonly Pair[];
}

export interface CompiledRequestTransformer {
  readonly httpMethod: string | null;
  readonly uri: Template | null;
  readonly remove: Section;
  readonly rename: Section;
  readonly replace: Section;
  readonly add: Section;
  readonly append: Section;
  readonly hasHeaders: boolean;
  readonly hasQuery: boolean;
  readonly hasBody: boolean;
  /** Some value reads the request (needs a template environment). */
  readonly hasTemplates: boolean;
}

function pair(entry: string, withValue: boolean): Pair {
  const { name, value } = withValue ? splitPair(entry) : { name: splitPair(entry).name, value: '' };
  const tpl = value === '' ? null : compileTemplate(value);
  const dynamic = tpl !== null && !isStatic(tpl);
  return Object.freeze({ name, lname: name.toLowerCase(), value: dynamic ? '' : value, tpl: dynamic ? tpl : null });
}

function section(s: { headers?: string[]; body?: string[]; querystring?: string[] } | undefined, withValue: boolean): Section {
  return Object.freeze({
    headers: Object.freeze((s?.headers ?? []).map((e) => pair(e, withValue))),
    body: Object.freeze((s?.body ?? []).map((e) => pair(e, withValue))),
    querystring: Object.freeze((s?.querystring ?? []).map((e) => pair(e, withValue))),
  });
}

export function compileConfig(config: RequestTransformerConfig): CompiledRequestTransformer {
  const remove = section(config.remove, false);
  const rename = section(config.rename, true);
  const replace = section(config.replace, true);
  const add = section(config.add, true);
  const append = section(config.append, true);
  const all = [remove, rename, replace, add, append];
  const uri = typeof config.replace?.uri === 'string' && config.replace.uri !== '' ? compileTemplate(config.replace.uri) : null;
  const hasTemplates = (uri !== null && !isStatic(uri)) || all.some((s) => [...s.headers, ...s.body, ...s.querystring].some((p) => p.tpl !== null));
  return Object.freeze({
    httpMethod: config.http_method ?? null,
    uri,
    remove,
    rename,
    replace,
    add,
    append,
    hasHeaders: all.some((s) => s.headers.length > 0),
    hasQuery: all.some((s) => s.querystring.length > 0),
    hasBody: all.some((s) => s.body.length > 0),
    hasTemplates,
  });
}
