/**
 * The `kong` object a kong-pdk plugin's phase methods receive, in-process:
 * the same camelCase functions kong-pdk exposes (kong.request.getHeader,
 * kong.response.exit, kong.service.request.setHeader, …), each returning a
 * Promise as kong-pdk's RPC calls do, but answered directly from the
 * request's context — no plugin server, no socket, no MessagePack.
 *
 * One Kong object per phase call (a few small objects, created lazily).
 * A function Portcullis does not offer is still callable and rejects with a
 * PDKError naming it ("kong.nginx.get_ctx is not supported by Portcullis"),
 * as a failed RPC would; snake_case names work too (kong-pdk converts
 * camelCase to snake_case, so both reach Kong).
 *
 * Values cross as they would through MessagePack: nil is null, headers are
 * plain objects, bodies are strings.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { HeaderBag, RequestContext } from '../../core/context.ts';
import type { ConsumerEntity } from '../../schema/entities/types.ts';
import type { IpMatcher } from '../../shared/ip.ts';
import * as pdk from '../../pdk/index.ts';
import { mark } from './watchdog.ts';
import { nodeId } from '../../core/node-id.ts';

/** kong-pdk's error class name (pdk.js PDKError). */
export class PDKError extends Error {
  override get name(): string {
    return 'PDKError';
  }
}

/** What a bridge needs beyond the request: fixed per plugin instance. */
export interface BridgeEnv {
  readonly plugin: string;
  readonly pluginId: string;
  readonly log: Logger;
  readonly trusted: IpMatcher;
}


const snake = (name: string): string => name.replace(/[a-z][A-Z]/g, (s) => `${s[0]}_${s[1]!.toLowerCase()}`);
const camel = (name: string): string => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** A callable that rejects naming the function; property access continues the dotted name. */
export function notSupported(path: string): unknown {
  const fn = (): Promise<never> => Promise.reject(new PDKError(`PDK method ${path} failed: not supported by Portcullis`));
  return new Proxy(fn, {
    get(_t, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      return notSupported(`${path}.${snake(prop)}`);
    },
  });
}

/**
 * The end of every namespace's prototype chain: a name the namespace does
 * not define arrives here — a snake_case spelling of one it does, or a
 * function Portcullis does not offer.
 */
function fallback(prefix: string): object {
  return new Proxy(Object.create(null) as object, {
    get(_t, prop, receiver: Record<string, unknown>) {
      if (typeof prop !== 'string' || prop === 'then' || prop === 'constructor' || prop === 'toJSON') return undefined;
      if (prop.includes('_')) {
        const c = camel(prop);
        const m = receiver[c];
        if (typeof m === 'function') return (...args: unknown[]) => (m as (...a: unknown[]) => unknown).apply(receiver, args);
      }
      return notSupported(`${prefix}.${snake(prop)}`);
    },
  });
}

function ns<T extends abstract new (...args: never[]) => object>(cls: T, prefix: string): T {
  Object.setPrototypeOf(cls.prototype, fallback(prefix));
  return cls;
}

// ---------------------------------------------------------------- helpers

function headerValue(v: unknown, what: string): string | string[] {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.length > 0) return v.map((x) => headerValue(x, what) as string);
  throw new PDKError(`invalid header value for "${what}": got ${v === null ? 'null' : typeof v}, expected string, number or boolean`);
}

function headerName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new PDKError(`header name must be a non-empty string (got ${typeof name})`);
  return name.toLowerCase();
}

/** Kong normalises header names: case-insensitive, and `_` may stand for `-`. */
function lookup(headers: Readonly<Record<string, string | string[] | undefined>>, name: unknown): string | null {
  if (typeof name !== 'string') throw new PDKError(`header name must be a string (got ${typeof name})`);
  let key = name.toLowerCase();
  let v = headers[key];
  if (v === undefined && key.includes('_')) {
    key = key.replace(/_/g, '-');
    v = headers[key];
  }
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? null) : v;
}

/** A header table (lower-case names; repeated fields become arrays), from raw name/value pairs. */
function headerTable(raw: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const v = raw[i + 1]!;
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else if (Array.isArray(cur)) cur.push(v);
    else out[k] = [cur, v];
  }
  return out;
}

function bagToTable(bag: Readonly<Record<string, string | string[] | undefined>>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in bag) {
    const v = bag[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Header arguments kong-pdk passes: an object, or a flat [name, value, …] array. */
function headerArg(headers: unknown): HeaderBag | null {
  if (headers === undefined || headers === null) return null;
  const out: HeaderBag = {};
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) out[headerName(headers[i])] = headerValue(headers[i + 1], String(headers[i]));
    return out;
  }
  if (typeof headers !== 'object') throw new PDKError(`headers must be a table (got ${typeof headers})`);
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) out[headerName(k)] = headerValue(v, k);
  return out;
}

function status(v: unknown, min = 100): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 599) throw new PDKError(`code must be a number between ${min} and 599`);
  return v;
}

function logLine(args: readonly unknown[]): string {
  let s = '';
  for (const a of args) s += typeof a === 'string' ? a : a === undefined ? 'nil' : typeof a === 'object' && a !== null ? JSON.stringify(a) : String(a);
  return s;
}

/** Kong's query table: repeated names → arrays, a name without `=` → true. */
function queryTable(raw: string): Record<string, string | boolean | Array<string | boolean>> {
  const out: Record<string, string | boolean | Array<string | boolean>> = {};
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const dec = (x: string): string => {
      try {
        return decodeURIComponent(x.replace(/\+/g, ' '));
      } catch {
        return x;
      }
    };
    const k = dec(eq === -1 ? part : part.slice(0, eq));
    const v: string | boolean = eq === -1 ? true : dec(part.slice(eq + 1));
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else if (Array.isArray(cur)) cur.push(v);
    else out[k] = [cur, v];
  }
  return out;
}

// ---------------------------------------------------------------- namespaces

/** Per-call state shared by the namespaces: the request and the plugin. */
export class Call {
  readonly ctx: RequestContext;
  readonly env: BridgeEnv;
  constructor(ctx: RequestContext, env: BridgeEnv) {
    this.ctx = ctx;
    this.env = env;
  }
  touch(): RequestContext {
    mark(this.env.plugin);
    return this.ctx;
  }
}

const Request = ns(
  class Request {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async getScheme(): Promise<string> {
      return this.c.touch().scheme;
    }
    async getHost(): Promise<string> {
      return this.c.touch().host;
    }
    async getPort(): Promise<number> {
      const ctx = this.c.touch();
      return ctx.req.socket.localPort ?? ctx.port;
    }
    async getForwardedScheme(): Promise<string> {
      const ctx = this.c.touch();
      return lookup(ctx.upstreamHeaders, 'x-forwarded-proto') ?? ctx.scheme;
    }
    async getForwardedHost(): Promise<string> {
      const ctx = this.c.touch();
      return lookup(ctx.upstreamHeaders, 'x-forwarded-host') ?? ctx.host;
    }
    async getForwardedPort(): Promise<number> {
      const ctx = this.c.touch();
      const v = lookup(ctx.upstreamHeaders, 'x-forwarded-port');
      return v !== null && /^\d+$/.test(v) ? Number(v) : ctx.port;
    }
    async getForwardedPath(): Promise<string> {
      const ctx = this.c.touch();
      return lookup(ctx.upstreamHeaders, 'x-forwarded-path') ?? ctx.rawPath;
    }
    async getForwardedPrefix(): Promise<string | null> {
      return lookup(this.c.touch().upstreamHeaders, 'x-forwarded-prefix');
    }
    async getHttpVersion(): Promise<number> {
      return Number(this.c.touch().req.httpVersion);
    }
    async getMethod(): Promise<string> {
      return this.c.touch().method;
    }
    async getPath(): Promise<string> {
      return this.c.touch().path;
    }
    async getRawPath(): Promise<string> {
      return this.c.touch().rawPath;
    }
    async getPathWithQuery(): Promise<string> {
      const ctx = this.c.touch();
      return ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`;
    }
    async getRawQuery(): Promise<string> {
      return this.c.touch().query;
    }
    async getQueryArg(name: unknown): Promise<string | boolean | null> {
      if (typeof name !== 'string') throw new PDKError('query argument name must be a string');
      const v = queryTable(this.c.touch().query)[name];
      return v === undefined ? null : Array.isArray(v) ? v[0]! : v;
    }
    async getQuery(): Promise<Record<string, string | boolean | Array<string | boolean>>> {
      return queryTable(this.c.touch().query);
    }
    async getHeader(name: unknown): Promise<string | null> {
      return lookup(this.c.touch().req.headers as Record<string, string | string[] | undefined>, name);
    }
    async getHeaders(): Promise<Record<string, string | string[]>> {
      return headerTable(this.c.touch().req.rawHeaders);
    }
    async getRawBody(): Promise<string> {
      return (await pdk.request.getRawBody(this.c.touch())).toString('utf8');
    }
    async getBody(): Promise<Record<string, unknown> | null> {
      return pdk.request.getBodyArgs(this.c.touch());
    }
    async getStartTime(): Promise<number> {
      const ctx = this.c.touch();
      return Math.round(performance.timeOrigin + ctx.startedAt);
    }
    async getUriCaptures(): Promise<{ unnamed: string[]; named: Record<string, string> }> {
      const caps = this.c.touch().uriCaptures ?? {};
      const unnamed: string[] = [];
      const named: Record<string, string> = {};
      for (const [k, v] of Object.entries(caps)) {
        if (/^\d+$/.test(k)) unnamed[Number(k)] = v;
        else named[k] = v;
      }
      return { unnamed, named };
    }
  },
  'kong.request',
);

const Response = ns(
  class Response {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async getStatus(): Promise<number> {
      const s = pdk.response.getStatus(this.c.touch());
      return s === 0 ? 200 : s;
    }
    async getHeader(name: unknown): Promise<string | null> {
      const ctx = this.c.touch();
      const key = typeof name === 'string' ? name.toLowerCase() : name;
      const own = ctx.responseHeaders;
      if (own !== null && typeof key === 'string' && key in own) return lookup(own, key);
      return lookup((ctx.upstreamResponseHeaders ?? {}) as Record<string, string | string[] | undefined>, name);
    }
    async getHeaders(): Promise<Record<string, string | string[]>> {
      const ctx = this.c.touch();
      const out = bagToTable((ctx.upstreamResponseHeaders ?? {}) as Record<string, string | string[] | undefined>);
      const own = ctx.responseHeaders;
      if (own !== null) {
        for (const k in own) {
          const v = own[k];
          if (v === undefined) delete out[k];
          else out[k] = v;
        }
      }
      return out;
    }
    async getSource(): Promise<string> {
      return pdk.response.getSource(this.c.touch());
    }
    async setStatus(code: unknown): Promise<null> {
      pdk.response.setStatus(this.c.touch(), status(code));
      return null;
    }
    async setHeader(name: unknown, value: unknown): Promise<null> {
      const n = headerName(name);
      pdk.response.setHeader(this.c.touch(), n, headerValue(value, n));
      return null;
    }
    async addHeader(name: unknown, value: unknown): Promise<null> {
      const n = headerName(name);
      const v = headerValue(value, n);
      const ctx = this.c.touch();
      for (const one of Array.isArray(v) ? v : [v]) pdk.response.addHeader(ctx, n, one);
      return null;
    }
    async setHeaders(headers: unknown): Promise<null> {
      const bag = headerArg(headers) ?? {};
      const ctx = this.c.touch();
      for (const k in bag) pdk.response.setHeader(ctx, k, bag[k]!);
      return null;
    }
    async clearHeader(name: unknown): Promise<null> {
      pdk.response.clearHeader(this.c.touch(), headerName(name));
      return null;
    }
    async exit(code: unknown, body?: unknown, headers?: unknown): Promise<null> {
      pdk.response.exit(this.c.touch(), status(code), body === undefined || body === null ? undefined : body, headerArg(headers));
      return null;
    }
    async error(code: unknown, message?: unknown, headers?: unknown): Promise<null> {
      pdk.response.error(this.c.touch(), status(code, 400), typeof message === 'string' ? message : null, headerArg(headers));
      return null;
    }
    /** The body about to be sent (the buffered `response` phase). */
    async getRawBody(): Promise<string | null> {
      const ctx = this.c.touch();
      const b = ctx.responseBody ?? ctx.serviceBody;
      return b === null ? null : b.toString('utf8');
    }
    /** Replace the body sent to the client (the buffered `response` phase; the gateway frames it). */
    async setRawBody(body: unknown): Promise<null> {
      const ctx = this.c.touch();
      if (ctx.serviceBody === null) throw new PDKError('kong.response.set_raw_body is only available in the response phase');
      pdk.response.setBody(ctx, typeof body === 'string' ? body : Buffer.isBuffer(body) ? body : String(body));
      return null;
    }
  },
  'kong.response',
);

const ServiceRequest = ns(
  class ServiceRequest {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async setScheme(scheme: unknown): Promise<null> {
      if (scheme !== 'http' && scheme !== 'https') throw new PDKError(`invalid scheme: ${String(scheme)}`);
      const ctx = this.c.touch();
      if (ctx.service !== null) ctx.service = { ...ctx.service, protocol: scheme };
      return null;
    }
    async setPath(path: unknown): Promise<null> {
      if (typeof path !== 'string' || !path.startsWith('/')) throw new PDKError('path must be a string starting with /');
      pdk.serviceRequest.setPath(this.c.touch(), path);
      return null;
    }
    async setRawQuery(query: unknown): Promise<null> {
      if (typeof query !== 'string') throw new PDKError('query must be a string');
      pdk.serviceRequest.setRawQuery(this.c.touch(), query.startsWith('?') ? query.slice(1) : query);
      return null;
    }
    async setMethod(method: unknown): Promise<null> {
      if (typeof method !== 'string' || !/^[A-Z]+$/.test(method)) throw new PDKError('method must be an upper-case HTTP method');
      pdk.serviceRequest.setMethod(this.c.touch(), method);
      return null;
    }
    async setQuery(args: unknown): Promise<null> {
      if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new PDKError('args must be a table');
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(args as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (v === true) q.append(k, '');
        else if (Array.isArray(v)) for (const one of v) q.append(k, String(one));
        else if (v !== false && v !== null && v !== undefined) q.append(k, String(v));
      }
      pdk.serviceRequest.setRawQuery(this.c.touch(), q.toString());
      return null;
    }
    async setHeader(name: unknown, value: unknown): Promise<null> {
      const n = headerName(name);
      const v = headerValue(value, n);
      pdk.serviceRequest.setHeader(this.c.touch(), n, Array.isArray(v) ? v.join(', ') : v);
      return null;
    }
    async addHeader(name: unknown, value: unknown): Promise<null> {
      const n = headerName(name);
      const v = headerValue(value, n);
      const ctx = this.c.touch();
      for (const one of Array.isArray(v) ? v : [v]) pdk.serviceRequest.addHeader(ctx, n, one);
      return null;
    }
    async setHeaders(headers: unknown): Promise<null> {
      const bag = headerArg(headers) ?? {};
      const ctx = this.c.touch();
      for (const k in bag) {
        const v = bag[k]!;
        pdk.serviceRequest.setHeader(ctx, k, Array.isArray(v) ? v.join(', ') : v);
      }
      return null;
    }
    async clearHeader(name: unknown): Promise<null> {
      pdk.serviceRequest.clearHeader(this.c.touch(), headerName(name));
      return null;
    }
    async setRawBody(body: unknown): Promise<null> {
      if (typeof body !== 'string' && !Buffer.isBuffer(body)) throw new PDKError('body must be a string');
      pdk.serviceRequest.setBody(this.c.touch(), body);
      return null;
    }
    async setBody(args: unknown): Promise<null> {
      if (args === null || typeof args !== 'object') throw new PDKError('args must be a table');
      const ctx = this.c.touch();
      const type = (lookup(ctx.upstreamHeaders, 'content-type') ?? lookup(ctx.req.headers as Record<string, string | undefined>, 'content-type') ?? '').toLowerCase();
      if (type.startsWith('application/x-www-form-urlencoded')) {
        pdk.serviceRequest.setBody(ctx, new URLSearchParams(args as Record<string, string>).toString());
      } else {
        pdk.serviceRequest.setBody(ctx, JSON.stringify(args));
        if (!type.startsWith('application/json')) pdk.serviceRequest.setHeader(ctx, 'content-type', 'application/json');
      }
      return null;
    }
    /** Read the whole upstream response even without a response handler (kong.service.response.get_raw_body in log). */
    async enableBuffering(): Promise<null> {
      this.c.touch().bufferResponse = true;
      return null;
    }
  },
  'kong.service.request',
);

const ServiceResponse = ns(
  class ServiceResponse {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async getStatus(): Promise<number | null> {
      return pdk.serviceResponse.getStatus(this.c.touch());
    }
    async getHeader(name: unknown): Promise<string | null> {
      return lookup(pdk.serviceResponse.getHeaders(this.c.touch()), name);
    }
    async getHeaders(): Promise<Record<string, string | string[]>> {
      return bagToTable(pdk.serviceResponse.getHeaders(this.c.touch()));
    }
    async getRawBody(): Promise<string | null> {
      const b = pdk.serviceResponse.getRawBody(this.c.touch());
      return b === null ? null : b.toString('utf8');
    }
    async getBody(): Promise<unknown> {
      const ctx = this.c.touch();
      const b = pdk.serviceResponse.getRawBody(ctx);
      if (b === null) return null;
      const type = (pdk.serviceResponse.getHeader(ctx, 'content-type') ?? '').toLowerCase();
      if (type.startsWith('application/json')) {
        try {
          return JSON.parse(b.toString('utf8')) as unknown;
        } catch {
          return null;
        }
      }
      if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(b.toString('utf8')));
      return null;
    }
  },
  'kong.service.response',
);

const Service = ns(
  class Service {
    readonly c: Call;
    private req: InstanceType<typeof ServiceRequest> | null = null;
    private res: InstanceType<typeof ServiceResponse> | null = null;
    constructor(c: Call) {
      this.c = c;
    }
    get request(): InstanceType<typeof ServiceRequest> {
      return (this.req ??= new ServiceRequest(this.c));
    }
    get response(): InstanceType<typeof ServiceResponse> {
      return (this.res ??= new ServiceResponse(this.c));
    }
    async setUpstream(host: unknown): Promise<boolean> {
      if (typeof host !== 'string') throw new PDKError('host must be a string');
      const ctx = this.c.touch();
      if (ctx.service === null) throw new PDKError('no service to proxy to');
      ctx.service = { ...ctx.service, host };
      return true;
    }
    async setTarget(host: unknown, port: unknown): Promise<null> {
      if (typeof host !== 'string') throw new PDKError('host must be a string');
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw new PDKError('port must be an integer between 0 and 65535');
      const ctx = this.c.touch();
      if (ctx.service === null) throw new PDKError('no service to proxy to');
      ctx.service = { ...ctx.service, host, port };
      return null;
    }
  },
  'kong.service',
);

const Client = ns(
  class Client {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async getIp(): Promise<string> {
      const ctx = this.c.touch();
      const a = ctx.req.socket.remoteAddress ?? '';
      return a.startsWith('::ffff:') ? a.slice(7) : a;
    }
    async getForwardedIp(): Promise<string> {
      return this.c.touch().clientIp;
    }
    async getPort(): Promise<number> {
      return this.c.touch().req.socket.remotePort ?? 0;
    }
    async getForwardedPort(): Promise<number> {
      return this.c.touch().req.socket.remotePort ?? 0;
    }
    async getProtocol(): Promise<string> {
      return this.c.touch().scheme;
    }
    async getConsumer(): Promise<ConsumerEntity | null> {
      return pdk.client.getConsumer(this.c.touch());
    }
    async getCredential(): Promise<unknown> {
      return pdk.client.getCredential(this.c.touch());
    }
    async loadConsumer(id: unknown, byUsername?: unknown): Promise<ConsumerEntity | null> {
      if (typeof id !== 'string') throw new PDKError('consumer_id must be a string');
      const ctx = this.c.touch();
      return pdk.client.loadConsumer(ctx, 'id', id) ?? (byUsername === true ? pdk.client.loadConsumer(ctx, 'username', id) : null);
    }
    async authenticate(consumer: unknown, credential: unknown): Promise<null> {
      if ((consumer === null || consumer === undefined) && (credential === null || credential === undefined)) {
        throw new PDKError('either credential or consumer must be provided');
      }
      const asObj = (v: unknown, what: string): Record<string, unknown> | null => {
        if (v === null || v === undefined) return null;
        if (typeof v !== 'object') throw new PDKError(`${what} must be a table or nil`);
        return v as Record<string, unknown>;
      };
      const cons = asObj(consumer, 'consumer') as ConsumerEntity | null;
      const cred = asObj(credential, 'credential');
      pdk.client.authenticate(this.c.touch(), cons, cred as { id: string } | null);
      return null;
    }
  },
  'kong.client',
);

const Router = ns(
  class Router {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async getRoute(): Promise<unknown> {
      return this.c.touch().route;
    }
    async getService(): Promise<unknown> {
      return this.c.touch().service;
    }
  },
  'kong.router',
);

const Ip = ns(
  class Ip {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async isTrusted(address: unknown): Promise<boolean> {
      this.c.touch();
      if (typeof address !== 'string') throw new PDKError('address must be a string');
      return this.c.env.trusted.contains(address);
    }
  },
  'kong.ip',
);

const Node = ns(
  class Node {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async getId(): Promise<string> {
      this.c.touch();
      return nodeId();
    }
    async getHostname(): Promise<string> {
      this.c.touch();
      return hostname();
    }
    async getMemoryStats(): Promise<unknown> {
      this.c.touch();
      const m = process.memoryUsage();
      return { lua_shared_dicts: {}, workers_lua_vms: [{ http_allocated_gc: m.heapUsed, pid: process.pid }] };
    }
  },
  'kong.node',
);

const LEVELS = ['alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'] as const;

const Log = ns(
  class Log {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    private write(level: (typeof LEVELS)[number], args: unknown[]): null {
      const ctx = this.c.touch();
      const log = this.c.env.log;
      const fields = { plugin: this.c.env.plugin, request_id: ctx.id };
      const msg = logLine(args);
      if (level === 'alert' || level === 'crit' || level === 'err') log.error(fields, msg);
      else if (level === 'warn') log.warn(fields, msg);
      else if (level === 'debug') log.debug(fields, msg);
      else log.info(fields, msg);
      return null;
    }
    async alert(...a: unknown[]): Promise<null> {
      return this.write('alert', a);
    }
    async crit(...a: unknown[]): Promise<null> {
      return this.write('crit', a);
    }
    async err(...a: unknown[]): Promise<null> {
      return this.write('err', a);
    }
    async warn(...a: unknown[]): Promise<null> {
      return this.write('warn', a);
    }
    async notice(...a: unknown[]): Promise<null> {
      return this.write('notice', a);
    }
    async info(...a: unknown[]): Promise<null> {
      return this.write('info', a);
    }
    async debug(...a: unknown[]): Promise<null> {
      return this.write('debug', a);
    }
  },
  'kong.log',
);

const Shared = ns(
  class Shared {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async get(key: unknown): Promise<unknown> {
      if (typeof key !== 'string') throw new PDKError('key must be a string');
      return this.c.touch().shared[key] ?? null;
    }
    async set(key: unknown, value: unknown): Promise<null> {
      if (typeof key !== 'string') throw new PDKError('key must be a string');
      this.c.touch().shared[key] = value;
      return null;
    }
  },
  'kong.ctx.shared',
);

const Ctx = ns(
  class Ctx {
    readonly c: Call;
    private s: InstanceType<typeof Shared> | null = null;
    constructor(c: Call) {
      this.c = c;
    }
    get shared(): InstanceType<typeof Shared> {
      return (this.s ??= new Shared(this.c));
    }
  },
  'kong.ctx',
);

const Plugin = ns(
  class Plugin {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async getId(): Promise<string> {
      this.c.touch();
      return this.c.env.pluginId;
    }
  },
  'kong.plugin',
);

/** nginx variables a plugin may read ($name), answered from the request. */
function nginxVar(ctx: RequestContext, name: string): string | null {
  switch (name) {
    case 'scheme':
      return ctx.scheme;
    case 'host':
      return ctx.host;
    case 'hostname':
      return hostname();
    case 'request_method':
      return ctx.method;
    case 'request_uri':
      return ctx.query === '' ? ctx.rawPath : `${ctx.rawPath}?${ctx.query}`;
    case 'uri':
      return ctx.path;
    case 'args':
    case 'query_string':
      return ctx.query === '' ? null : ctx.query;
    case 'is_args':
      return ctx.query === '' ? '' : '?';
    case 'remote_addr':
    case 'binary_remote_addr':
      return name === 'remote_addr' ? ctx.clientIp : null;
    case 'realip_remote_addr': {
      const a = ctx.req.socket.remoteAddress ?? '';
      return a.startsWith('::ffff:') ? a.slice(7) : a;
    }
    case 'remote_port':
    case 'realip_remote_port':
      return String(ctx.req.socket.remotePort ?? '');
    case 'server_addr': {
      const a = ctx.req.socket.localAddress ?? '';
      return a.startsWith('::ffff:') ? a.slice(7) : a;
    }
    case 'server_port':
      return String(ctx.req.socket.localPort ?? '');
    case 'server_protocol':
      return `HTTP/${ctx.req.httpVersion}`;
    case 'request_id':
    case 'kong_request_id':
      return ctx.id;
    case 'content_type':
      return lookup(ctx.req.headers as Record<string, string | undefined>, 'content-type');
    case 'content_length':
      return lookup(ctx.req.headers as Record<string, string | undefined>, 'content-length');
    case 'upstream_uri':
      return ctx.upstreamQuery === '' ? ctx.upstreamPath : `${ctx.upstreamPath}?${ctx.upstreamQuery}`;
    case 'upstream_scheme':
      return ctx.service?.protocol ?? null;
    case 'upstream_host':
      return lookup(ctx.upstreamHeaders, 'host');
    case 'status':
      return ctx.upstreamStatus !== 0 ? String(ctx.upstreamStatus) : null;
    case 'ssl_server_name':
      return ctx.sni;
    case 'https':
      return ctx.scheme === 'https' ? 'on' : '';
  }
  if (name.startsWith('http_')) return lookup(ctx.req.headers as Record<string, string | undefined>, name.slice(5));
  if (name.startsWith('arg_')) return pdk.request.getQuery(ctx).get(name.slice(4));
  if (name.startsWith('cookie_')) return pdk.request.getCookie(ctx, name.slice(7));
  if (name.startsWith('sent_http_') && ctx.upstreamResponseHeaders !== null) {
    return lookup(ctx.upstreamResponseHeaders as Record<string, string | undefined>, name.slice(10));
  }
  if (name.startsWith('upstream_http_') && ctx.upstreamResponseHeaders !== null) {
    return lookup(ctx.upstreamResponseHeaders as Record<string, string | undefined>, name.slice(14));
  }
  throw new PDKError(`PDK method kong.nginx.get_var failed: variable "${name}" is not supported by Portcullis`);
}

const Nginx = ns(
  class Nginx {
    readonly c: Call;
    constructor(c: Call) {
      this.c = c;
    }
    async getVar(name: unknown): Promise<string | null> {
      if (typeof name !== 'string') throw new PDKError('variable name must be a string');
      return nginxVar(this.c.touch(), name);
    }
    async getSubsystem(): Promise<string> {
      this.c.touch();
      return 'http';
    }
    async reqStartTime(): Promise<number> {
      const ctx = this.c.touch();
      return (performance.timeOrigin + ctx.startedAt) / 1000;
    }
  },
  'kong.nginx',
);

/** The `kong` argument of one phase call. */
export const Kong = ns(
  class Kong {
    readonly c: Call;
    private _request: InstanceType<typeof Request> | null = null;
    private _response: InstanceType<typeof Response> | null = null;
    private _service: InstanceType<typeof Service> | null = null;
    private _client: InstanceType<typeof Client> | null = null;
    private _router: InstanceType<typeof Router> | null = null;
    private _log: InstanceType<typeof Log> | null = null;
    private _ctx: InstanceType<typeof Ctx> | null = null;
    private _ip: InstanceType<typeof Ip> | null = null;
    private _node: InstanceType<typeof Node> | null = null;
    private _nginx: InstanceType<typeof Nginx> | null = null;
    private _plugin: InstanceType<typeof Plugin> | null = null;
    constructor(ctx: RequestContext, env: BridgeEnv) {
      this.c = new Call(ctx, env);
    }
    get request(): InstanceType<typeof Request> {
      return (this._request ??= new Request(this.c));
    }
    get response(): InstanceType<typeof Response> {
      return (this._response ??= new Response(this.c));
    }
    get service(): InstanceType<typeof Service> {
      return (this._service ??= new Service(this.c));
    }
    get client(): InstanceType<typeof Client> {
      return (this._client ??= new Client(this.c));
    }
    get router(): InstanceType<typeof Router> {
      return (this._router ??= new Router(this.c));
    }
    get log(): InstanceType<typeof Log> {
      return (this._log ??= new Log(this.c));
    }
    get ctx(): InstanceType<typeof Ctx> {
      return (this._ctx ??= new Ctx(this.c));
    }
    get ip(): InstanceType<typeof Ip> {
      return (this._ip ??= new Ip(this.c));
    }
    get node(): InstanceType<typeof Node> {
      return (this._node ??= new Node(this.c));
    }
    get nginx(): InstanceType<typeof Nginx> {
      return (this._nginx ??= new Nginx(this.c));
    }
    get plugin(): InstanceType<typeof Plugin> {
      return (this._plugin ??= new Plugin(this.c));
    }
  },
  'kong',
);

/** Every function the bridge answers, as Kong names them (docs/plugins/writing-plugins.md lists them). */
export function supportedFunctions(): string[] {
  const out: string[] = [];
  const walk = (proto: object, prefix: string): void => {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || name === 'write' || name === 'touch') continue;
      const d = Object.getOwnPropertyDescriptor(proto, name)!;
      if (typeof d.value === 'function') out.push(`${prefix}.${snake(name)}`);
    }
  };
  walk(Request.prototype, 'kong.request');
  walk(Response.prototype, 'kong.response');
  walk(Service.prototype, 'kong.service');
  walk(ServiceRequest.prototype, 'kong.service.request');
  walk(ServiceResponse.prototype, 'kong.service.response');
  walk(Client.prototype, 'kong.client');
  walk(Router.prototype, 'kong.router');
  walk(Ip.prototype, 'kong.ip');
  walk(Node.prototype, 'kong.node');
  walk(Log.prototype, 'kong.log');
  walk(Shared.prototype, 'kong.ctx.shared');
  walk(Plugin.prototype, 'kong.plugin');
  walk(Nginx.prototype, 'kong.nginx');
  return out.sort();
}
