/**
 * POST of one OTLP/HTTP request to the collector (Kong's
 * plugins/opentelemetry/utils.lua http_export_request): Content-Type
 * application/x-protobuf unless the configured headers set one; success is a
 * 200 answer, anything else a failure the queue retries. Kong's three
 * timeouts: connect_timeout until the connection is up, send_timeout until
 * the request is written, read_timeout until the whole answer is read.
 * Connections are kept alive between batches (one agent per process).
 */
import { Buffer } from 'node:buffer';
import http from 'node:http';
import https from 'node:https';

export interface ExportTarget {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly connectTimeout: number;
  readonly sendTimeout: number;
  readonly readTimeout: number;
}

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4 });

/** Largest answer body read (it only ends up in an error line). */
const MAX_ERROR_BODY = 4096;

/** Send `body`; resolves on a 200, rejects with Kong's wording otherwise. */
export function exportRequest(target: ExportTarget, body: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const url = target.url;
    const secure = url.protocol === 'https:';
    let timer: NodeJS.Timeout | null = null;
    let settled = false;
    const done = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      if (err === null) resolve();
      else reject(err);
    };
    const arm = (ms: number, what: string): void => {
      if (timer !== null) clearTimeout(timer);
      timer = ms > 0 ? setTimeout(() => req.destroy(new Error(`${what} timeout`)), ms) : null;
    };
    const req = (secure ? https : http).request({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      path: url.pathname + url.search,
      headers: target.headers,
      agent: secure ? httpsAgent : httpAgent,
    });
    req.on('socket', (socket) => {
      if (socket.connecting) {
        arm(target.connectTimeout, 'connect');
        socket.once(secure ? 'secureConnect' : 'connect', () => arm(target.sendTimeout, 'send'));
      } else {
        arm(target.sendTimeout, 'send');
      }
    });
    req.on('finish', () => arm(target.readTimeout, 'read'));
    req.on('error', (err) => done(new Error(`failed to send request: ${err.message}`)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ERROR_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('error', (err) => done(new Error(`failed to send request: ${err.message}`)));
      res.on('end', () => {
        if (res.statusCode === 200) done(null);
        else done(new Error(`response error: ${res.statusCode}, body: ${Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY)}`));
      });
    });
    req.end(body);
  });
}
