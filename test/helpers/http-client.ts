/**
 * A tiny node:http client for proxy tests: exact control over the headers
 * sent (fetch adds its own), the raw response headers, and the connection.
 */
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

export interface SimpleResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Parsed JSON body, or undefined when it is not JSON. */
  json: any;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer | Readable;
  agent?: Agent | false;
  /** TLS: server name and CA. */
  servername?: string;
  ca?: string;
  rejectUnauthorized?: boolean;
  /** TLS: client certificate to present when asked, and the highest protocol version. */
  cert?: string;
  key?: string;
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export function send(url: string, options: SendOptions = {}): Promise<SimpleResponse> {
  const u = new URL(url);
  const isHttps = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (isHttps ? httpsRequest : httpRequest)(
      {
        host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: u.port,
        // Raw path as written (URL drops a bare trailing '?').
        path: url.slice(u.origin.length) || '/',
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? false,
        ...(isHttps ? { servername: options.servername, ca: options.ca, rejectUnauthorized: options.rejectUnauthorized ?? false } : {}),
        ...(isHttps && options.cert !== undefined ? { cert: options.cert, key: options.key } : {}),
        ...(isHttps && options.maxVersion !== undefined ? { maxVersion: options.maxVersion } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}
