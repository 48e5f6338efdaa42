/**
 * request-transformer's value templates, without Lua and without eval.
 *
 * Kong renders config values with Penlight templates: every `$( … )` (balanced
 * parentheses) is a Lua expression evaluated against `headers`,
 * `query_params`, `uri_captures` and `shared`, and a nil result renders as
 * the empty string. Portcullis compiles the same text into a small tree,
 * once, and evaluates it per request. The supported expression language is
 * the part of Lua these templates use:
 *
 *   headers.name   headers["x-name"]   uri_captures[1]   shared.a.b
 *   "literal"  'literal'  123  nil  true  false
 *   a or b   a and b   a .. b   ( … )
 *
 * `headers` lookups are case-insensitive and `_` matches `-` (OpenResty's
 * ngx.req.get_headers metatable); a header sent several times is a list and
 * renders as its values joined by ", ". Anything else (function calls, Lua
 * blocks) is rejected when the configuration is written, with Kong's
 * "value '…' is not in supported format" message.
 */

export type Root = 'headers' | 'query_params' | 'uri_captures' | 'shared';
const ROOTS: ReadonlySet<string> = new Set<Root>(['headers', 'query_params', 'uri_captures', 'shared']);

export type Node =
  | { readonly k: 'lit'; readonly v: unknown }
  | { readonly k: 'path'; readonly root: Root; readonly keys: readonly (string | number)[] }
  | { readonly k: 'or' | 'and' | 'concat'; readonly a: Node; readonly b: Node };

/** A compiled template: literal text parts interleaved with expressions. */
export interface Template {
  readonly source: string;
  /** parts[i] is text; exprs[i] follows parts[i]. parts.length === exprs.length + 1. */
  readonly parts: readonly string[];
  readonly exprs: readonly Node[];
}

/** What expressions read: resolved lazily, once per request, by the caller. */
export interface TemplateEnv {
  get(root: Root): unknown;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

// ------------------------------------------------------------------ lexer

type Tok = { t: 'id' | 'str' | 'num' | 'op'; v: string };

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
      out.push({ t: 'id', v: src.slice(i, j) });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(?:\.[0-9]+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new TemplateError('unfinished string');
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    if (src.startsWith('..', i)) {
      out.push({ t: 'op', v: '..' });
      i += 2;
      continue;
    }
    if ('.[]()'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    throw new TemplateError(`unexpected symbol near '${c}'`);
  }
  return out;
}

// ------------------------------------------------------------------ parser

class Parser {
  private readonly toks: Tok[];
  private pos = 0;
  constructor(toks: Tok[]) {
    this.toks = toks;
  }
  private peek(): Tok | undefined {
    return this.toks[this.pos];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'op' && t.v === v;
  }
  private isKeyword(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'id' && t.v === v;
  }
  private expect(v: string): void {
    if (!this.isOp(v)) throw new TemplateError(`'${v}' expected`);
    this.pos++;
  }
  parse(): Node {
    const n = this.or();
    if (this.pos !== this.toks.length) throw new TemplateError(`unexpected symbol near '${this.peek()!.v}'`);
    return n;
  }
  private or(): Node {
    let a = this.and();
    while (this.isKeyword('or')) {
      this.pos++;
      a = { k: 'or', a, b: this.and() };
    }
    return a;
  }
  private and(): Node {
    let a = this.concat();
    while (this.isKeyword('and')) {
      this.pos++;
      a = { k: 'and', a, b: this.concat() };
    }
    return a;
  }
  private concat(): Node {
    const a = this.primary();
    // `..` is right-associative in Lua; the result is the same for strings.
    if (this.isOp('..')) {
      this.pos++;
      return { k: 'concat', a, b: this.concat() };
    }
    return a;
  }
  private primary(): Node {
    const t = this.peek();
    if (t === undefined) throw new TemplateError('unexpected end of expression');
    this.pos++;
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'num') return { k: 'lit', v: Number(t.v) };
    if (t.t === 'op' && t.v === '(') {
      const n = this.or();
      this.expect(')');
      return n;
    }
    if (t.t === 'id') {
      if (t.v === 'nil') return { k: 'lit', v: undefined };
      if (t.v === 'true') return { k: 'lit', v: true };
      if (t.v === 'false') return { k: 'lit', v: false };
      if (!ROOTS.has(t.v)) throw new TemplateError(`'${t.v}' is not available in templates (only headers, query_params, uri_captures, shared)`);
      const keys: (string | number)[] = [];
      for (;;) {
        if (this.isOp('.')) {
          this.pos++;
          const id = this.peek();
          if (id === undefined || id.t !== 'id') throw new TemplateError("<name> expected near '.'");
          this.pos++;
          keys.push(id.v);
        } else if (this.isOp('[')) {
          this.pos++;
          const k = this.peek();
          if (k === undefined || (k.t !== 'str' && k.t !== 'num')) throw new TemplateError('only string or number keys are supported');
          this.pos++;
          keys.push(k.t === 'num' ? Number(k.v) : k.v);
          this.expect(']');
        } else if (this.isOp('(')) {
          throw new TemplateError('function calls are not supported');
        } else break;
      }
      return { k: 'path', root: t.v as Root, keys };
    }
    throw new TemplateError(`unexpected symbol near '${t.v}'`);
  }
}

/** Index of the `)` closing the `(` at `open`, respecting quoted strings (Lua's %b() does not, but quotes with parens are rare). */
function closing(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Compile a config value. Throws TemplateError for an unsupported expression. */
export function compileTemplate(source: string): Template {
  const parts: string[] = [];
  const exprs: Node[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const at = source.indexOf('$(', i);
    if (at === -1) break;
    const end = closing(source, at + 1);
    if (end === -1) break; // an unbalanced `$(` is plain text, as in Penlight
    text += source.slice(i, at);
    parts.push(text);
    text = '';
    exprs.push(new Parser(lex(source.slice(at + 2, end))).parse());
    i = end + 1;
  }
  text += source.slice(i);
  parts.push(text);
  return { source, parts, exprs };
}

export function isStatic(t: Template): boolean {
  return t.exprs.length === 0;
}

// ------------------------------------------------------------------ evaluation

function truthy(v: unknown): boolean {
  return v !== undefined && v !== null && v !== false;
}

function lookup(container: unknown, key: string | number, headers: boolean): unknown {
  if (container === null || container === undefined || typeof container !== 'object') return undefined;
  if (Array.isArray(container)) {
    // Lua arrays are 1-based.
    return typeof key === 'number' ? container[key - 1] : undefined;
  }
  const obj = container as Record<string, unknown>;
  if (headers && typeof key === 'string') {
    const lower = key.toLowerCase();
    const v = obj[lower];
    if (v !== undefined) return v;
    return obj[lower.replaceAll('_', '-')];
  }
  return obj[String(key)];
}

function evaluate(n: Node, env: TemplateEnv): unknown {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'path': {
      let v = env.get(n.root);
      for (let i = 0; i < n.keys.length; i++) v = lookup(v, n.keys[i]!, n.root === 'headers' && i === 0);
      return v;
    }
    case 'or': {
      const a = evaluate(n.a, env);
      return truthy(a) ? a : evaluate(n.b, env);
    }
    case 'and': {
      const a = evaluate(n.a, env);
      return truthy(a) ? evaluate(n.b, env) : a;
    }
    case 'concat':
      return toText(evaluate(n.a, env)) + toText(evaluate(n.b, env));
  }
}

/** Lua's tostring for what templates produce; nil renders empty (Penlight's `or ''`). */
function toText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(toText).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function render(t: Template, env: TemplateEnv): string {
  if (t.exprs.length === 0) return t.parts[0]!;
  let out = t.parts[0]!;
  for (let i = 0; i < t.exprs.length; i++) out += toText(evaluate(t.exprs[i]!, env)) + t.parts[i + 1]!;
  return out;
}
