/**
 * An httpbin-like echo upstream for the demo and the tests (issue 4: "an echo
 * upstream like httpbin's /anything"). Any method on any path answers what it
 * received as JSON:
 *
 *   { method, url, path, args, headers, origin, data, json, form, files }
 *
 * `headers` are exactly as received (names lower-case, repeated headers as
 * arrays — unlike httpbin, which re-capitalises, so tests can see precisely
 * what the gateway forwarded). `data` is the body as text, `json` the parsed
 * body or null, `form` the parsed urlencoded body ({} otherwise).
 *
 * httpbin's helpers, at the root only (as httpbin):
 *   /status/:code   answers that status with an empty body (a list picks one)
 *   /delay/:seconds echoes after a delay (at most 10 s, like httpbin)
 *   /stream/:n      n JSON lines, chunked, one chunk per line (n ≤ 100)
 *   /bytes/:n       n random bytes (n ≤ 100 KiB)
 */
import { Buffer } from 'node:buffer';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';

export interface StartEchoOptions {
  host?: string;
  port?: number;
}

export interface Echo {
  /** `http://<host>:<port>` (no trailing slash) */
  url: string;
  port: number;
  /** Requests received so far (for "the upstream was never reached" assertions). */
  requestCount(): number;
  close(): Promise<void>;
}

/** Bodies beyond this are echoed truncated (the byte count stays exact). */
const MAX_ECHO_BODY = 8 * 1024 * 1024;
const MAX_DELAY_S = 10;
const MAX_STREAM = 100;
const MAX_BYTES = 100 * 1024;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

interface Received {
  method: string;
  url: string;
  path: string;
  args: Record<string, string | string[]>;
  headers: Record<string, string | string[]>;
  origin: string;
  data: string;
  json: unknown;
  form: Record<string, string | string[]>;
  files: Record<string, never>;
}

function multiMap(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

/** Headers as received: raw pairs, names lower-cased, repeats kept as arrays. */
function receivedHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (kept < MAX_ECHO_BODY) {
      const part = chunk.subarray(0, MAX_ECHO_BODY - kept);
      chunks.push(part);
      kept += part.length;
    }
  }
  return Buffer.concat(chunks, kept);
}

function describe(req: IncomingMessage, body: Buffer): Received {
  const host = req.headers.host ?? 'localhost';
  const target = new URL(req.url ?? '/', `http://${host}`);
  const data = body.toString('utf8');
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  let json: unknown = null;
  if (data !== '') {
    try {
      json = JSON.parse(data);
    } catch {
      json = null;
    }
  }
  const form = type.startsWith('application/x-www-form-urlencoded') ? multiMap(new URLSearchParams(data)) : {};
  return {
    method: req.method ?? 'GET',
    url: target.href,
    path: target.pathname,
    args: multiMap(target.searchParams),
    headers: receivedHeaders(req),
    origin: req.socket.remoteAddress ?? '',
    data,
    json,
    form,
    files: {},
  };
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function parseCount(s: string | undefined, max: number): number | null {
  if (s === undefined || !/^\d{1,9}$/.test(s)) return null;
  return Math.min(Number(s), max);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const parts = path.split('/');
  const [, head, arg] = parts;
  const body = await readBody(req);

  if (parts.length === 3 && head === 'status' && arg !== undefined) {
    // httpbin: /status/200,500 picks one of the listed codes at random.
    const codes = arg.split(',').map((c) => Number(c)).filter((c) => Number.isInteger(c) && c >= 100 && c <= 599);
    const code = codes[Math.floor(Math.random() * codes.length)];
    if (code === undefined) {
      sendJson(req, res, 400, { error: 'invalid status code' });
      return;
    }
    if (code === 401) res.setHeader('www-authenticate', 'Basic realm="Fake Realm"');
    res.writeHead(code, { 'content-length': '0' });
    res.end();
    return;
  }
  if (parts.length === 3 && head === 'delay') {
    const seconds = arg !== undefined && /^\d+(\.\d+)?$/.test(arg) ? Math.min(Number(arg), MAX_DELAY_S) : null;
    if (seconds === null) {
      sendJson(req, res, 400, { error: 'invalid delay' });
      return;
    }
    const timer = setTimeout(() => sendJson(req, res, 200, describe(req, body)), seconds * 1000);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (parts.length === 3 && head === 'stream') {
    const n = parseCount(arg, MAX_STREAM);
    if (n === null) {
      sendJson(req, res, 400, { error: 'invalid count' });
      return;
    }
    const info = describe(req, body);
    res.writeHead(200, { 'content-type': 'application/json' });
    for (let id = 0; id < n; id++) res.write(`${JSON.stringify({ id, url: info.url, args: info.args, headers: info.headers, origin: info.origin })}\n`);
    res.end();
    return;
  }
  if (parts.length === 3 && head === 'bytes') {
    const n = parseCount(arg, MAX_BYTES);
    if (n === null) {
      sendJson(req, res, 400, { error: 'invalid count' });
      return;
    }
    const bytes = randomBytes(n);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
    res.end(req.method === 'HEAD' ? undefined : bytes);
    return;
  }
  sendJson(req, res, 200, describe(req, body));
}

export async function startEcho(opts: StartEchoOptions = {}): Promise<Echo> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) throw new Error(`the echo upstream only binds to loopback (got ${host})`);
  let count = 0;
  const server: Server = createServer({ requestTimeout: 60_000 }, (req, res) => {
    count++;
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":"bad request"}\n');
      } else {
        res.destroy();
      }
    });
  });
  const requested = opts.port ?? 0;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(Object.assign(new Error(`port ${requested} is already in use (echo)`), { code: 'EADDRINUSE', port: requested }));
      else reject(err);
    });
    server.listen(requested, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : requested);
    });
  });
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    requestCount: () => count,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
