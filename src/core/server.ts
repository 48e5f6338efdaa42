/**
 * Proxy listeners: node:http for plain, node:https for TLS (certificate per
 * SNI from the live Runtime, else the default certificate), WebSocket
 * upgrades, Kong's behaviour for malformed requests, and graceful close.
 *
 * `runtime.current` is read once per request (handle.ts): the manager swaps
 * the reference atomically and each request keeps the Runtime it started with.
 */
import { Buffer } from 'node:buffer';
import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Runtime } from './runtime-types.ts';
import { VERSION } from '../version.ts';
import { AccessLog } from './access-log.ts';
import { defaultMetrics, type ProxyMetrics } from './metrics.ts';
import { nextRequestId } from './request-id.ts';
import { ANSWERS } from './errors.ts';
import { RealIpResolver } from './proxy/client-ip.ts';
import { ProxyEnv } from './proxy/env.ts';
import { handleNodeRequest, handleRequest, handleUpgrade } from './proxy/handle.ts';
import { defaultCertificate } from './proxy/default-cert.ts';
import { requestClientCertificate } from './proxy/client-cert.ts';
import { renderError, TYPE_PLAIN } from './error-templates.ts';
import { attachFastLane, type FastLane } from './downstream/fast-lane.ts';

export interface ListenAddress {
  host: string;
  port: number;
  ssl: boolean;
}

export interface ProxySettings {
  /** kong.conf trusted_ips: peers whose X-Forwarded-* / real-IP headers are believed. */
  trustedIps: string[];
  /** kong.conf real_ip_header (default X-Real-IP). */
  realIpHeader?: string;
  /** kong.conf real_ip_recursive (default off). */
  realIpRecursive?: boolean;
  /** kong.conf headers: server_tokens (Server, Via). */
  serverTokens: boolean;
  /** kong.conf headers: latency_tokens (X-Kong-*-Latency). */
  latencyTokens: boolean;
  /** Request head limit in bytes (default 16 KiB); larger heads get Kong's 400. */
  maxHeaderSize?: number;
  /** Request body limit (nginx client_max_body_size); null/absent = unlimited (Kong's default 0). */
  maxRequestBodyBytes?: number | null;
  /** PEM certificate and key for TLS listeners when no SNI matches; generated when absent. */
  defaultCert?: { cert: string; key: string };
}

export interface ProxyOptions {
  listen: ListenAddress[];
  runtime: { current: Runtime };
  settings: ProxySettings;
  logger: Logger;
  /** Metrics sink; defaults to the process-wide registry (metricsText()); null disables. */
  metrics?: ProxyMetrics | null;
  /** Where access-log lines go; defaults to `logger`; null disables them. */
  accessLog?: Logger | null;
}

export interface ProxyHandle {
  /** Bound addresses (actual ports when 0 was asked). */
  addresses(): ListenAddress[];
  /** Stop accepting, let in-flight requests finish for up to `graceMs`, then cut what is left. */
  close(graceMs?: number): Promise<void>;
}

/** nginx client_header_timeout / keepalive_timeout defaults (60 s). */
const HEADERS_TIMEOUT_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 60_000;
const DEFAULT_GRACE_MS = 10_000;

/** Kong proxies WebSocket upgrades only; other Upgrade tokens (h2c…) are plain requests. */
function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const up = req.headers.upgrade;
  return up !== undefined && up.toLowerCase() === 'websocket';
}

export async function startProxy(opts: ProxyOptions): Promise<ProxyHandle> {
  const s = opts.settings;
  const env = new ProxyEnv({
    ref: opts.runtime,
    log: opts.logger,
    serverTokens: s.serverTokens,
    latencyTokens: s.latencyTokens,
    serverHeader: `portcullis/${VERSION}`,
    realIp: new RealIpResolver(s.trustedIps, s.realIpHeader, s.realIpRecursive ?? false),
    metrics: opts.metrics === undefined ? defaultMetrics() : opts.metrics,
    accessLog: opts.accessLog === null ? null : new AccessLog(opts.accessLog ?? opts.logger),
    maxRequestBodyBytes: s.maxRequestBodyBytes ?? null,
  });
  const base: ServerOptions = {
    maxHeaderSize: s.maxHeaderSize ?? 16 * 1024,
    keepAliveTimeout: KEEPALIVE_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    // Bodies are streamed for as long as they flow; slow senders are bounded by write/read timeouts upstream.
    requestTimeout: 0,
    noDelay: true,
    shouldUpgradeCallback: isWebSocketUpgrade,
  };

  const servers: Array<{ server: Server; ssl: boolean; requested: ListenAddress }> = [];
  const lanes: FastLane[] = [];
  let cert: { cert: string; key: string } | null = null;
  try {
    for (const l of opts.listen) {
      let server: Server;
      if (l.ssl) {
        cert ??= s.defaultCert ?? (await defaultCertificate());
        server = createHttpsServer({
          ...base,
          cert: cert.cert,
          key: cert.key,
          ALPNProtocols: ['http/1.1'],
          // A requested client certificate is never verified at the handshake (tls-handshake-modifier):
          // the plugin that reads it decides (openid-connect proof_of_possession_mtls).
          rejectUnauthorized: false,
          // Node calls SNICallback as a method of the TLSSocket being handshaken: `this` is the connection.
          SNICallback(this: TLSSocket, servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) {
            const runtime = env.ref.current;
            let ctx: SecureContext | null = null;
            try {
              ctx = runtime.certificateFor(servername);
            } catch (err) {
              env.log.error({ err, servername }, 'certificate for SNI could not be loaded; using the default');
            }
            // The connection started with the no-SNI decision (requestCert below); the SNI decides now.
            const want = runtime.requestsClientCertificate(servername);
            if (want !== runtime.requestsClientCertificate(null) && !requestClientCertificate(this, want)) warnNoVerifyMode(env);
            cb(null, ctx ?? undefined);
          },
        });
        // A client that sends no SNI never reaches SNICallback: node reads the server's `requestCert` for each new
        // connection (tlsConnectionListener), so it follows the live configuration's decision for "no SNI".
        Object.defineProperty(server, 'requestCert', { get: () => env.ref.current.requestsClientCertificate(null), set: () => {}, configurable: true });
      } else {
        server = createHttpServer(base);
        lanes.push(
          attachFastLane(server, {
            maxHeaderSize: base.maxHeaderSize!,
            keepAliveMs: KEEPALIVE_TIMEOUT_MS,
            headersTimeoutMs: HEADERS_TIMEOUT_MS,
            onRequest: (req, res) => handleRequest(env, req, res, false),
          }),
        );
      }
      const ssl = l.ssl;
      const stats = env.metrics?.listeners;
      // Kong's connections_accepted / _active (kong_nginx_connections_total); after the fast lane took
      // 'connection' over, so each accepted socket is counted once.
      if (stats !== undefined) {
        server.on('connection', (socket: Socket) => {
          stats.accepted++;
          stats.active++;
          socket.once('close', () => stats.active--);
        });
      }
      server.on('request', (req: IncomingMessage, res: ServerResponse) => handleNodeRequest(env, req, res, ssl));
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => afterPendingAnswers(socket, () => handleUpgrade(env, req, socket, head, ssl)));
      server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => onClientError(env, err, socket));
      await listen(server, l);
      servers.push({ server, ssl, requested: l });
    }
  } catch (err) {
    await Promise.all(servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
    throw err;
  }

  let closing: Promise<void> | null = null;
  return {
    addresses() {
      return servers.map(({ server, ssl, requested }) => {
        const a = server.address();
        if (a === null || typeof a === 'string') return { host: requested.host, port: requested.port, ssl };
        return { host: a.address, port: a.port, ssl };
      });
    },
    close(graceMs = DEFAULT_GRACE_MS) {
      closing ??= closeAll(env, servers.map((x) => x.server), lanes, graceMs);
      return closing;
    },
  };
}

let warnedNoVerifyMode = false;

/** This Node build has no per-connection verify-mode switch: say so once (clients are then not asked for certificates per SNI). */
function warnNoVerifyMode(env: ProxyEnv): void {
  if (warnedNoVerifyMode) return;
  warnedNoVerifyMode = true;
  env.log.error('this Node.js cannot request a client certificate per SNI (TLSSocket handle without setVerifyMode); tls-handshake-modifier only applies to handshakes without SNI');
}

/**
 * An upgrade request pipelined behind requests still being answered: node:http
 * hands the socket over at once, while an earlier answer may still be on its
 * way. The handshake waits until every earlier answer went out (node assigns
 * the next queued response to the socket as each finishes), so answers never
 * interleave; the bytes after the handshake wait with it.
 */
function afterPendingAnswers(socket: Duplex, run: () => void): void {
  if (socket.destroyed) return;
  const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (current === null || current === undefined) {
    run();
    return;
  }
  const next = (): void => {
    current.off('finish', next);
    current.off('close', next);
    setImmediate(afterPendingAnswers, socket, run);
  };
  current.once('finish', next);
  current.once('close', next);
}

/** Bind; `0.0.0.0` / `::` mean every interface, IPv4 and IPv6 (dual-stack `::`, else IPv4 only). */
function listen(server: Server, l: ListenAddress): Promise<void> {
  const all = l.host === '0.0.0.0' || l.host === '::' || l.host === '*';
  const bind = (host: string, ipv6Only: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host, port: l.port, ipv6Only });
    });
  if (!all) return bind(l.host, false);
  return bind('::', false).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL' || err.code === 'EINVAL') return bind('0.0.0.0', false);
    throw err;
  });
}

async function closeAll(env: ProxyEnv, servers: Server[], lanes: FastLane[], graceMs: number): Promise<void> {
  const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
  for (const server of servers) server.closeIdleConnections();
  for (const lane of lanes) lane.closeIdle();
  if (env.inflight > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      timer.unref();
      env.onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  env.onIdle = null;
  for (const t of env.tunnels) t.destroy();
  for (const server of servers) server.closeAllConnections();
  for (const lane of lanes) lane.closeAll();
  await Promise.all(closed);
}

/**
 * Malformed requests never reach the pipeline: nginx answers them before Kong
 * runs, through kong/error_handlers.lua — 400 "Bad request", or 400 "Request
 * header or cookie too large" (nginx's 494). No headers were parsed, so the
 * body is error_default_type (text/plain).
 */
function onClientError(env: ProxyEnv, err: Error & { code?: string }, socket: Duplex): void {
  const code = err.code;
  if (code === 'ECONNRESET' || code === 'ERR_HTTP_REQUEST_TIMEOUT' || !socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const entry = code === 'HPE_HEADER_OVERFLOW' ? ANSWERS.HEADERS_TOO_LARGE : ANSWERS.BAD_REQUEST;
  const id = nextRequestId();
  const body = renderError(TYPE_PLAIN, entry.message, id);
  let head = `HTTP/1.1 ${entry.status} Bad Request\r\ncontent-type: ${TYPE_PLAIN}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  if (env.serverTokens) head += `server: ${env.serverHeader}\r\n`;
  head += `x-kong-request-id: ${id}\r\n\r\n`;
  if (env.log.isLevelEnabled('debug')) env.log.debug({ request_id: id, code }, 'malformed request');
  socket.end(head + body);
}
