/**
 * RequestContext: the one object a request carries through the gateway.
 * Fixed shape (every field assigned in the constructor) so V8 keeps one
 * hidden class on the hot path. Plugins do not touch it directly; they go
 * through src/pdk, which reads and writes these fields.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { ConsumerEntity, RouteEntity, ServiceEntity } from '../schema/entities/types.ts';
import type { ConsumerIndex } from './consumers.ts';
import type { AnswerCode } from './errors.ts';
import type { RequestTrace } from './tracing/trace.ts';

/** What an authentication plugin established (Kong's `kong.client.authenticate`). */
export interface Credential {
  id: string;
  /** Subject / identifier sent upstream as X-Credential-Identifier. */
  identifier?: string | null;
  consumer_id?: string | null;
  [key: string]: unknown;
}

/**
 * The downstream request as the proxy reads it: node:http's IncomingMessage
 * satisfies it, and so does the fast lane's FastRequest (downstream/fast-messages.ts),
 * which only ever carries requests without a body.
 */
export interface ProxyRequest extends AsyncIterable<Buffer> {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  /** Lower-case names, repeats joined as node:http joins them. */
  readonly headers: IncomingHttpHeaders;
  /** Names as sent and values, in order, repeats kept. */
  readonly rawHeaders: string[];
  readonly httpVersion: string;
  readonly socket: Socket;
  /** The whole body has been received. */
  readonly complete: boolean;
  readonly readableLength: number;
  readonly readableDidRead: boolean;
  isPaused(): boolean;
}

/** The downstream response as the proxy writes it: node:http's ServerResponse, or the fast lane's FastResponse. */
export interface ProxyResponse {
  readonly headersSent: boolean;
  statusCode: number;
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  /** Header names are lower case; throws on an invalid name or value (nothing is sent then). */
  writeHead(status: number, headers: Record<string, string | string[]>): unknown;
  write(chunk: Buffer | string): boolean;
  end(chunk?: Buffer | string): unknown;
  destroy(): unknown;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/** Who produced the response (Kong's kong.response.get_source()): the service, a plugin's exit, or a gateway error. */
export type ResponseSource = 'service' | 'exit' | 'error';

/** One try of the upstream request (Kong's balancer_data.tries entry). */
export interface UpstreamTry {
  /** ms since the epoch when the try began. */
  balancer_start: number;
  balancer_latency: number;
  ip: string;
  port: number;
  /** Set on a try that failed and was retried or given up: 'failed' with the error's code. */
  state?: 'failed';
  code?: string;
}

/**
 * What the log serializer needs beyond the finished-request figures on the context (finalStatus, latencies, bytes)
 * (set by the proxy just before the log phase runs, only when a plugin has a
 * log handler): read by the log serializer (src/pdk/log.ts).
 */
export interface ServedInfo {
  /** Request path and query exactly as received. */
  requestUri: string;
  /** Port of the listener the request came in on. */
  listenerPort: number;
  /** Headers sent to the client (lower-case names), null when none were sent. */
  responseHeaders: Record<string, string | string[]> | null;
  /** ms from the upstream request to its response headers (-1: not proxied). */
  waitingMs: number;
  tries: UpstreamTry[] | null;
  /** The request target ended with a bare `?` (kept on upstream_uri, as Kong). */
  queryMark: boolean;
}

/** Mutable header bag: lower-case names → value(s). */
export type HeaderBag = Record<string, string | string[] | undefined>;

export class RequestContext {
  readonly req: ProxyRequest;
  readonly res: ProxyResponse;
  /** Request id (X-Kong-Request-Id equivalent); echoed in error bodies and the access log. */
  id: string;
  /** performance.now() at the first byte of the request. */
  readonly startedAt: number;

  // ---- downstream request, as received and normalised
  method: string;
  scheme: 'http' | 'https';
  /** Host without port, lower-cased. */
  host: string;
  port: number;
  /** Path as received (still percent-encoded), without the query. */
  rawPath: string;
  /** Normalised path used for routing (Kong: percent-decoding of unreserved chars, dot segments, `//`). */
  path: string;
  /** Raw query string without the leading `?` ('' when absent). */
  query: string;
  /** Parsed query, built lazily by the PDK. */
  queryArgs: URLSearchParams | null;
  clientIp: string;
  sni: string | null;

  // ---- matched configuration
  route: RouteEntity | null;
  service: ServiceEntity | null;
  /** Regex captures from the route path (Kong's uri_captures). */
  uriCaptures: Record<string, string> | null;

  // ---- upstream request (what the service will receive)
  upstreamMethod: string;
  upstreamHeaders: HeaderBag;
  /** Path (already joined with the service path), percent-encoded, no query. */
  upstreamPath: string;
  /** Query string without `?`. */
  upstreamQuery: string;
  /** Replacement body set by a plugin; null = stream the client's body. */
  upstreamBody: Buffer | null;
  /** Client body once a plugin asked for it (pdk.request.getBody); null when not read. */
  requestBody: Buffer | null;

  // ---- downstream response
  /** Headers plugins add to the client's response (applied after header_filter). */
  responseHeaders: HeaderBag | null;
  /** Non-zero once a plugin (or the gateway) answered early via pdk.response.exit. */
  exitStatus: number;
  exitBody: string | Buffer | null;
  exitHeaders: HeaderBag | null;
  /** Status and headers of the upstream response (header_filter / log phases). */
  upstreamStatus: number;
  upstreamResponseHeaders: IncomingHttpHeaders | null;
  /** The whole upstream body, when a plugin on the route has the buffered `response` phase. */
  serviceBody: Buffer | null;
  /** Body a plugin set in the `response` phase (pdk.response.setBody); null = the upstream's. */
  responseBody: Buffer | null;
  /** A plugin asked for the whole upstream body even without a response phase (kong.service.request.enable_buffering). */
  bufferResponse: boolean;
  /** Status a plugin set in the `response` phase (pdk.response.setStatus); 0 = the upstream's. */
  responseStatus: number;

  // ---- identity
  /** Consumers of the Runtime serving this request (for plugins mapping identities to consumers). */
  consumers: ConsumerIndex;
  consumer: ConsumerEntity | null;
  credential: Credential | null;
  authenticatedGroups: string[] | null;
  /** Consumer groups an authentication established without a consumer (Kong's kong.client.set_authenticated_consumer_groups): names. */
  authenticatedConsumerGroups: readonly string[] | null;

  // ---- plugin state (Kong's kong.ctx.shared / kong.ctx.plugin)
  private sharedBag: Record<string, unknown> | null;
  pluginState: Map<string, unknown> | null;

  // ---- timings and log
  /** ms spent in the gateway before the upstream was contacted. */
  proxyLatency: number;
  /** ms from sending the request upstream to its response headers. */
  upstreamLatency: number;
  /** Extra, already-redacted fields a plugin wants in the access log line. */
  logFields: Record<string, unknown> | null;
  /** Internal error/decision code for the log (never a secret). */
  errorCode: AnswerCode | null;

  // ---- the finished request, set just before the log phase (Kong's kong.log.serialize() figures)
  /** Status the client got (499 when it went away before an answer). */
  finalStatus: number;
  finalSource: ResponseSource;
  /** ms from the first byte of the request to the end of the response (Kong's latencies.request). */
  totalLatency: number;
  /** ms spent in the gateway (Kong's latencies.kong). */
  kongLatency: number;
  /** Request and response body bytes. */
  bytesIn: number;
  bytesOut: number;
  /** The request's spans (src/core/tracing), null unless a configured plugin reads traces. */
  trace: RequestTrace | null;
  /** Headers as written to the client (null before); the log serializer reads them. */
  sentHeaders: Record<string, string | string[]> | null;
  /** Set just before the log phase when a plugin logs (src/pdk/log.ts); null otherwise. */
  served: ServedInfo | null;

  /** Kong's kong.ctx.shared: made on first use (most requests never touch it). */
  get shared(): Record<string, unknown> {
    return (this.sharedBag ??= {});
  }

  constructor(req: ProxyRequest, res: ProxyResponse, id: string, startedAt: number, consumers: ConsumerIndex) {
    this.req = req;
    this.res = res;
    this.id = id;
    this.startedAt = startedAt;
    this.method = req.method ?? 'GET';
    this.scheme = 'http';
    this.host = '';
    this.port = 0;
    this.rawPath = '/';
    this.path = '/';
    this.query = '';
    this.queryArgs = null;
    this.clientIp = '';
    this.sni = null;
    this.route = null;
    this.service = null;
    this.uriCaptures = null;
    this.upstreamMethod = this.method;
    this.upstreamHeaders = {};
    this.upstreamPath = '/';
    this.upstreamQuery = '';
    this.upstreamBody = null;
    this.requestBody = null;
    this.responseHeaders = null;
    this.exitStatus = 0;
    this.exitBody = null;
    this.exitHeaders = null;
    this.upstreamStatus = 0;
    this.upstreamResponseHeaders = null;
    this.serviceBody = null;
    this.responseBody = null;
    this.responseStatus = 0;
    this.bufferResponse = false;
    this.consumers = consumers;
    this.consumer = null;
    this.credential = null;
    this.authenticatedGroups = null;
    this.authenticatedConsumerGroups = null;
    this.sharedBag = null;
    this.pluginState = null;
    this.proxyLatency = 0;
    this.upstreamLatency = 0;
    this.logFields = null;
    this.errorCode = null;
    this.finalStatus = 0;
    this.finalSource = 'error';
    this.totalLatency = 0;
    this.kongLatency = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.trace = null;
    this.sentHeaders = null;
    this.served = null;
  }
}
