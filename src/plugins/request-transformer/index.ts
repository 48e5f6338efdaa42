/**
 * request-transformer (Kong's plugin of the same name): reshape the request
 * before it reaches the upstream — method, path, headers, query string and
 * JSON / form bodies (kong/plugins/request-transformer/access.lua, Kong 3.9).
 *
 * Kong's order and rules are kept: uri → method → headers → body → query;
 * within each, remove → rename → replace → add → append. `replace` only
 * touches what exists, `add` only what does not, `append` turns a value into
 * a list. Values may be templates (see ./template.ts), evaluated against the
 * request as it was when the plugin started.
 *
 * The body is read (buffered) only when a body transform is configured and
 * the request's Content-Type is JSON or form-urlencoded (or when http_method
 * moves a form body into the query string); otherwise it streams untouched.
 * A multipart body is passed through unchanged (not transformed).
 */
import { Buffer } from 'node:buffer';
import type { HeaderBag, RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { decodeArgs, encodeArgs, type Args, type ArgValue } from './args.ts';
import { compileConfig, type CompiledRequestTransformer, type Pair } from './compile.ts';
import { check, schema, type RequestTransformerConfig } from './schema.ts';
import { render, type Root, type TemplateEnv } from './template.ts';

type BodyKind = 'json' | 'form' | null;

function bodyKind(ctx: RequestContext): BodyKind {
  const type = pdk.request.getHeader(ctx, 'content-type');
  if (type === undefined) return null;
  const t = type.toLowerCase();
  if (t.includes('application/json')) return 'json';
  if (t.includes('application/x-www-form-urlencoded')) return 'form';
  return null;
}

/** Kong's template environment: the request as it was when the plugin started. */
class Env implements TemplateEnv {
  private readonly ctx: RequestContext;
  private readonly headers: HeaderBag;
  private query: Record<string, unknown> | null = null;
  private readonly rawQuery: string;
  constructor(ctx: RequestContext) {
    this.ctx = ctx;
    this.headers = { ...ctx.upstreamHeaders };
    this.rawQuery = ctx.upstreamQuery;
  }
  get(root: Root): unknown {
    switch (root) {
      case 'headers':
        return this.headers;
      case 'query_params':
        return (this.query ??= Object.fromEntries(decodeArgs(this.rawQuery)));
      case 'uri_captures':
        return this.ctx.uriCaptures ?? {};
      case 'shared':
        return this.ctx.shared;
    }
  }
}

function value(p: Pair, env: Env | null): string {
  return p.tpl !== null && env !== null ? render(p.tpl, env) : p.value;
}

function appendValue(cur: ArgValue | unknown, v: string): unknown {
  if (typeof cur === 'string') return [cur, v];
  if (Array.isArray(cur)) return [...cur, v];
  return [v];
}

// ------------------------------------------------------------------ headers

function transformHeaders(ctx: RequestContext, conf: CompiledRequestTransformer, env: Env | null): void {
  const h = ctx.upstreamHeaders;
  for (const p of conf.remove.headers) if (h[p.lname] !== undefined) pdk.serviceRequest.clearHeader(ctx, p.lname);
  for (const p of conf.rename.headers) {
    const to = value(p, env).toLowerCase();
    if (to === p.lname) continue; // a case change only: header names are case-insensitive
    const v = h[p.lname];
    if (v === undefined) continue;
    pdk.serviceRequest.clearHeader(ctx, p.lname);
    h[to] = v;
  }
  for (const p of conf.replace.headers) {
    if (h[p.lname] !== undefined || p.lname === 'host') pdk.serviceRequest.setHeader(ctx, p.lname, value(p, env));
  }
  for (const p of conf.add.headers) {
    if (h[p.lname] === undefined && p.lname !== 'host') pdk.serviceRequest.setHeader(ctx, p.lname, value(p, env));
  }
  for (const p of conf.append.headers) {
    const cur = h[p.lname];
    const v = value(p, env);
    h[p.lname] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
}

// ------------------------------------------------------------------ query string

function transformQuery(ctx: RequestContext, conf: CompiledRequestTransformer, env: Env | null): void {
  const args = decodeArgs(ctx.upstreamQuery);
  for (const p of conf.remove.querystring) args.delete(p.name);
  for (const p of conf.rename.querystring) {
    const to = value(p, env);
    const v = args.get(p.name);
    if (to === p.name || v === undefined) continue;
    args.delete(p.name);
    args.set(to, v);
  }
  for (const p of conf.replace.querystring) if (args.has(p.name)) args.set(p.name, value(p, env));
  for (const p of conf.add.querystring) if (!args.has(p.name)) args.set(p.name, value(p, env));
  for (const p of conf.append.querystring) args.set(p.name, appendValue(args.get(p.name), value(p, env)) as ArgValue);
  pdk.serviceRequest.setRawQuery(ctx, encodeArgs(args, true));
}

// ------------------------------------------------------------------ bodies

type Json = Record<string, unknown>;

function has(obj: Json, k: string): boolean {
  return Object.hasOwn(obj, k);
}
function get(obj: Json, k: string): unknown {
  return Object.hasOwn(obj, k) ? obj[k] : undefined;
}
/** Own, enumerable property even for names like `__proto__` (no prototype pollution). */
function put(obj: Json, k: string, v: unknown): void {
  Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
}
/** Lua truthiness of a decoded JSON value (`null` decodes to a truthy cjson.null in Kong, false is falsy). */
function present(v: unknown): boolean {
  return v !== undefined && v !== false;
}

function transformJson(conf: CompiledRequestTransformer, body: Buffer, env: Env | null): Buffer | null {
  let params: Json;
  if (body.length === 0) params = {};
  else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return null; // not JSON after all: leave it alone, as Kong does
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    params = parsed as Json;
  }
  let changed = false;
  if (body.length > 0) {
    for (const p of conf.remove.body) {
      delete params[p.name];
      changed = true;
    }
    for (const p of conf.rename.body) {
      const to = value(p, env);
      const v = get(params, p.name);
      if (to !== p.name && present(v)) {
        delete params[p.name];
        put(params, to, v);
        changed = true;
      }
    }
    for (const p of conf.replace.body) {
      if (present(get(params, p.name))) {
        put(params, p.name, value(p, env));
        changed = true;
      }
    }
  }
  for (const p of conf.add.body) {
    if (!present(get(params, p.name))) {
      put(params, p.name, value(p, env));
      changed = true;
    }
  }
  for (const p of conf.append.body) {
    put(params, p.name, appendValue(get(params, p.name), value(p, env)));
    changed = true;
  }
  return changed ? Buffer.from(JSON.stringify(params)) : null;
}

function transformForm(conf: CompiledRequestTransformer, body: Buffer, env: Env | null): Buffer | null {
  const args: Args = decodeArgs(body.toString('utf8'));
  let changed = false;
  if (body.length > 0) {
    for (const p of conf.remove.body) {
      args.delete(p.name);
      changed = true;
    }
    for (const p of conf.rename.body) {
      const to = value(p, env);
      const v = args.get(p.name);
      if (to !== p.name && v !== undefined) {
        args.delete(p.name);
        args.set(to, v);
        changed = true;
      }
    }
    for (const p of conf.replace.body) {
      if (args.has(p.name)) {
        args.set(p.name, value(p, env));
        changed = true;
      }
    }
  }
  for (const p of conf.add.body) {
    if (!args.has(p.name)) {
      args.set(p.name, value(p, env));
      changed = true;
    }
  }
  for (const p of conf.append.body) {
    args.set(p.name, appendValue(args.get(p.name), value(p, env)) as ArgValue);
    changed = true;
  }
  return changed ? Buffer.from(encodeArgs(args, false)) : null;
}

async function transformBody(ctx: RequestContext, conf: CompiledRequestTransformer, kind: BodyKind, env: Env | null): Promise<void> {
  if (kind === null) return;
  const body = await pdk.request.getRawBody(ctx);
  const out = kind === 'json' ? transformJson(conf, body, env) : transformForm(conf, body, env);
  // The proxy sends this body with a Content-Length of its own size.
  if (out !== null) pdk.serviceRequest.setBody(ctx, out);
}

// ------------------------------------------------------------------ method

/** Kong: switching to GET/HEAD/TRACE moves a form body's fields into the query string. */
function methodMovesForm(conf: CompiledRequestTransformer, kind: BodyKind): boolean {
  const m = conf.httpMethod;
  return (m === 'GET' || m === 'HEAD' || m === 'TRACE') && kind === 'form';
}

async function moveFormToQuery(ctx: RequestContext): Promise<void> {
  const form = decodeArgs((await pdk.request.getRawBody(ctx)).toString('utf8'));
  if (form.size === 0) return;
  const query = decodeArgs(ctx.upstreamQuery);
  for (const [name, v] of form) {
    const cur = query.get(name);
    if (cur === undefined) query.set(name, v);
    else query.set(name, [...(Array.isArray(cur) ? cur : cur === true ? [] : [cur]), ...(Array.isArray(v) ? v : v === true ? [] : [v])]);
  }
  pdk.serviceRequest.setRawQuery(ctx, encodeArgs(query, true));
}

// ------------------------------------------------------------------ phases

function transformUri(ctx: RequestContext, conf: CompiledRequestTransformer, env: Env | null): void {
  if (conf.uri === null) return;
  const path = env !== null ? render(conf.uri, env) : conf.uri.parts[0]!;
  if (path !== '') pdk.serviceRequest.setPath(ctx, path);
}

async function accessAsync(ctx: RequestContext, conf: CompiledRequestTransformer, env: Env | null, kind: BodyKind, moveForm: boolean): Promise<void> {
  if (moveForm) await moveFormToQuery(ctx);
  if (conf.hasHeaders) transformHeaders(ctx, conf, env);
  if (conf.hasBody) await transformBody(ctx, conf, kind, env);
  if (conf.hasQuery) transformQuery(ctx, conf, env);
}

function access(ctx: RequestContext, conf: CompiledRequestTransformer): void | Promise<void> {
  const env = conf.hasTemplates ? new Env(ctx) : null;
  transformUri(ctx, conf, env);
  if (conf.httpMethod !== null) pdk.serviceRequest.setMethod(ctx, conf.httpMethod);
  const kind = conf.hasBody || conf.httpMethod !== null ? bodyKind(ctx) : null;
  const moveForm = methodMovesForm(conf, kind);
  if (moveForm || (conf.hasBody && kind !== null)) return accessAsync(ctx, conf, env, kind, moveForm);
  if (conf.hasHeaders) transformHeaders(ctx, conf, env);
  if (conf.hasQuery) transformQuery(ctx, conf, env);
}

export const requestTransformer: PluginModule<RequestTransformerConfig, CompiledRequestTransformer> = {
  name: 'request-transformer',
  version: VERSION,
  priority: 801,
  // Kong Enterprise lists this plugin among those that can be scoped to a consumer group.
  scopes: { consumer: true, route: true, service: true, consumer_group: true },
  schema,
  check,
  compile: (config) => compileConfig(config),
  access,
};

export default requestTransformer;
