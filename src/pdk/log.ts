/**
 * kong.log.serialize() (kong/pdk/log.lua, Kong Gateway 3.9.3, http
 * subsystem): the table every logging plugin (http-log, file-log, tcp-log,
 * udp-log, syslog) sends, with Kong's field names and shapes.
 *
 * Redaction. Kong replaces the `authorization` and `proxy-authorization`
 * request headers by "REDACTED" and leaves everything else (its docs warn the
 * result "may return sensitive data (e.g., API keys)"). Our rule is never to
 * log a secret or a full token, so we redact more, with Kong's word:
 * - request headers `authorization`, `proxy-authorization` (Kong), `cookie`,
 *   and any header whose name contains token, secret, password, passwd,
 *   apikey, api-key, api_key, session or credential (key-auth's default
 *   `apikey`, `x-api-key`, `x-auth-token`…);
 * - response header `set-cookie` (session cookies are bearer credentials);
 * - query arguments named like those headers, or `code`, `jwt`, `key`
 *   (OAuth codes, jwt's `uri_param_names`, key-auth in the query), in
 *   `request.querystring` and inside `request.uri`, `request.url` and
 *   `upstream_uri`.
 * Key names configured to something else entirely (key-auth `key_names:
 * [x-foo]`) are also redacted: the authenticating plugins report the header
 * or query argument they took a credential from (`markSecret`).
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import type { TLSSocket } from 'node:tls';
import type { RequestContext } from '../core/context.ts';

export const REDACTED = 'REDACTED';

/** performance.timeOrigin is a getter; it never changes. */
const TIME_ORIGIN = performance.timeOrigin;

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const SECRET_QUERY = new Set(['code', 'jwt', 'key']);
const SECRET_PARTS = ['token', 'secret', 'password', 'passwd', 'apikey', 'api-key', 'api_key', 'session', 'credential'];

function secretWord(name: string): boolean {
  for (const part of SECRET_PARTS) if (name.includes(part)) return true;
  return false;
}

/** Names a plugin took a credential from on this request (lower-case): redacted too. */
const MARKS = 'portcullis.log.secret-names';

/** An authenticating plugin read a credential from this request header or query argument: never log its value. */
export function markSecret(ctx: RequestContext, name: string): void {
  const shared = ctx.shared;
  const set = (shared[MARKS] as Set<string> | undefined) ?? new Set<string>();
  set.add(name.toLowerCase());
  shared[MARKS] = set;
}

function marked(ctx: RequestContext): Set<string> | undefined {
  return ctx.shared[MARKS] as Set<string> | undefined;
}

function secretHeader(name: string, marks: Set<string> | undefined): boolean {
  return SECRET_HEADERS.has(name) || secretWord(name) || (marks !== undefined && marks.has(name));
}

function secretArg(name: string, marks: Set<string> | undefined): boolean {
  const n = name.toLowerCase();
  return SECRET_QUERY.has(n) || secretWord(n) || (marks !== undefined && marks.has(n));
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Kong's kong.request.get_query(): name → value, `true` for a bare name, an array for repeats. */
function queryTable(query: string, marks: Set<string> | undefined): Record<string, string | boolean | Array<string | boolean>> {
  const out: Record<string, string | boolean | Array<string | boolean>> = {};
  if (query === '') return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq === -1 ? part : part.slice(0, eq));
    if (name === '') continue;
    let value: string | boolean = eq === -1 ? true : decode(part.slice(eq + 1));
    if (value !== true && secretArg(name, marks)) value = REDACTED;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/** The raw query with secret arguments' values replaced (encoding of the rest kept). */
function redactQuery(query: string, marks: Set<string> | undefined): string {
  if (query === '') return query;
  let changed = false;
  const parts = query.split('&');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (secretArg(decode(part.slice(0, eq)), marks)) {
      parts[i] = `${part.slice(0, eq)}=${REDACTED}`;
      changed = true;
    }
  }
  return changed ? parts.join('&') : query;
}

/** A path-and-query with its query redacted. */
function redactUri(uri: string, marks: Set<string> | undefined): string {
  const q = uri.indexOf('?');
  if (q === -1) return uri;
  return uri.slice(0, q + 1) + redactQuery(uri.slice(q + 1), marks);
}

/** Kong's kong.request.get_headers(): lower-case names, a repeated header as an array. */
function requestHeaders(ctx: RequestContext, marks: Set<string> | undefined): Record<string, string | string[]> {
  const raw = ctx.req.rawHeaders;
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = secretHeader(name, marks) ? REDACTED : raw[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

function responseHeaders(sent: Record<string, string | string[]> | null): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (sent === null) return out;
  for (const name of Object.keys(sent)) {
    const v = sent[name];
    if (v === undefined) continue;
    out[name] = name === 'set-cookie' ? (Array.isArray(v) ? v.map(() => REDACTED) : REDACTED) : v;
  }
  return out;
}

/** nginx's $request_length: request line, header lines, blank line and body. */
function requestLength(ctx: RequestContext, uri: string, body: number): number {
  const raw = ctx.req.rawHeaders;
  let n = ctx.method.length + 1 + Buffer.byteLength(uri) + 1 + 8 + 2 + 2;
  for (let i = 0; i < raw.length; i += 2) n += Buffer.byteLength(raw[i]!) + 2 + Buffer.byteLength(raw[i + 1]!) + 2;
  return n + body;
}

/** nginx's $bytes_sent: status line, header lines, blank line and body. */
function bytesSent(status: number, headers: Record<string, string | string[]> | null, body: number): number {
  if (headers === null) return body;
  let n = 'HTTP/1.1 000 \r\n'.length + 2;
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) n += name.length + 2 + Buffer.byteLength(String(one)) + 2;
  }
  void status;
  return n + body;
}

function tlsInfo(ctx: RequestContext): { version: string; cipher: string; client_verify: string } | undefined {
  if (ctx.scheme !== 'https') return undefined;
  const socket = ctx.req.socket as TLSSocket;
  if (typeof socket.getProtocol !== 'function') return undefined;
  const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : null;
  const hasCert = cert !== null && Object.keys(cert).length > 0;
  return {
    version: socket.getProtocol() ?? '',
    cipher: socket.getCipher()?.standardName ?? '',
    // nginx's $ssl_client_verify: NONE without a client certificate.
    client_verify: !hasCert ? 'NONE' : socket.authorized ? 'SUCCESS' : `FAILED:${String(socket.authorizationError ?? '')}`,
  };
}

/**
 * An entity as it goes into the entry. Kong deep-copies (cycle_aware_deep_copy)
 * so that a plugin may edit its copy; entities here are the Runtime's frozen
 * configuration, which nothing can change, so the entry refers to them (a copy
 * per request showed in the cost of every logged request).
 */
function entity<T>(v: T | null): T | undefined {
  return v === null ? undefined : v;
}

export interface SerializedLog {
  request: {
    id: string;
    uri: string;
    url: string;
    querystring: Record<string, unknown>;
    method: string;
    headers: Record<string, string | string[]>;
    size: number;
    tls?: { version: string; cipher: string; client_verify: string };
  };
  upstream_uri: string;
  upstream_status: string;
  response: { status: number; headers: Record<string, string | string[]>; size: number };
  latencies: { kong: number; proxy: number; request: number; receive: number };
  tries?: unknown[];
  authenticated_entity?: { id: string; consumer_id?: string | null };
  route?: unknown;
  service?: unknown;
  consumer?: unknown;
  client_ip: string;
  started_at: number;
  source: string;
  workspace_name: string;
  [extra: string]: unknown;
}

/**
 * Kong's kong.log.serialize() for the request in its log phase. Kong
 * omits keys whose value is nil (JSON has no nil); so do we (undefined).
 */
export function serialize(ctx: RequestContext): SerializedLog {
  const served = ctx.served;
  if (served === null) throw new Error('kong.log.serialize: only in the log phase');
  const marks = marked(ctx);
  const requestUri = redactUri(served.requestUri, marks);
  const url = `${ctx.scheme}://${ctx.host}:${served.listenerPort}${requestUri}`;
  let upstreamUri = '';
  if (ctx.route !== null) {
    upstreamUri = ctx.upstreamPath;
    if (ctx.upstreamQuery !== '') upstreamUri += `?${redactQuery(ctx.upstreamQuery, marks)}`;
    else if (served.queryMark) upstreamUri += '?';
  }
  const proxied = served.waitingMs >= 0;
  const credential = ctx.credential;
  const entry: SerializedLog = {
    request: {
      id: ctx.id,
      uri: requestUri,
      url,
      querystring: queryTable(ctx.query, marks),
      method: ctx.method,
      headers: requestHeaders(ctx, marks),
      size: requestLength(ctx, served.requestUri, ctx.bytesIn),
      tls: tlsInfo(ctx),
    },
    upstream_uri: upstreamUri,
    upstream_status: ctx.upstreamStatus === 0 ? '' : String(ctx.upstreamStatus),
    response: {
      status: ctx.finalStatus,
      headers: responseHeaders(served.responseHeaders),
      size: bytesSent(ctx.finalStatus, served.responseHeaders, ctx.bytesOut),
    },
    latencies: {
      kong: Math.round(ctx.kongLatency),
      proxy: proxied ? Math.round(served.waitingMs) : -1,
      request: Math.round(ctx.totalLatency),
      // Kong's KONG_RECEIVE_TIME: response headers to the last body byte.
      receive: proxied ? Math.max(0, Math.round(ctx.totalLatency - ctx.kongLatency - served.waitingMs)) : 0,
    },
    tries: served.tries === null ? undefined : served.tries.map((t) => ({ ...t })),
    authenticated_entity: credential === null ? undefined : { id: credential.id, consumer_id: credential.consumer_id ?? ctx.consumer?.id },
    route: entity(ctx.route),
    service: entity(ctx.service),
    consumer: entity(ctx.consumer),
    client_ip: ctx.clientIp,
    started_at: Math.round(TIME_ORIGIN + ctx.startedAt),
    source: ctx.finalSource,
    workspace_name: 'default',
  };
  return entry;
}
