/**
 * Outbound HTTP towards the identity provider (discovery, JWKS, token,
 * introspection, userinfo, revocation). One undici Agent per
 * (ssl_verify, keepalive) pair, shared by every plugin instance; `timeout`
 * (Kong: "network IO timeout in milliseconds") bounds connect, headers and body.
 *
 * A transport failure or a 5xx answer is an `IdpUnavailable`: the caller must
 * turn it into a 5xx for the client, never into a 401 (ARCHITECTURE
 * principle 4, issue 3 §9).
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { Agent, request, type Dispatcher } from 'undici';
import { startClientSpan } from '../../core/tracing/trace.ts';
import { recordIdpRequest } from './metrics.ts';

/** What part of the IdP failed: used in metrics labels and logs. */
export type IdpEndpoint = 'discovery' | 'jwks' | 'token' | 'introspection' | 'userinfo' | 'revocation' | 'pushed_authorization_request';

export class IdpUnavailable extends Error {
  readonly code = 'IDP_UNAVAILABLE';
  readonly endpoint: IdpEndpoint;
  /** HTTP status from the IdP, or 0 for a transport error / timeout. */
  readonly status: number;
  readonly timedOut: boolean;
  constructor(endpoint: IdpEndpoint, message: string, status = 0, timedOut = false) {
    super(message);
    this.name = 'IdpUnavailable';
    this.endpoint = endpoint;
    this.status = status;
    this.timedOut = timedOut;
  }
}

export interface HttpPolicy {
  readonly timeoutMs: number;
  readonly sslVerify: boolean;
  readonly keepalive: boolean;
}

export interface IdpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Largest IdP response read (discovery documents and JWKS are small; this bounds a hostile one). */
const MAX_RESPONSE_BYTES = 1024 * 1024;

const agents = new Map<string, Agent>();

function agentFor(policy: HttpPolicy): Dispatcher {
  const key = `${policy.sslVerify ? 1 : 0}${policy.keepalive ? 1 : 0}`;
  let agent = agents.get(key);
  if (agent === undefined) {
    agent = new Agent({
      connect: { rejectUnauthorized: policy.sslVerify },
      // keepalive=false: a connection per request (Kong's `keepalive` setting).
      pipelining: policy.keepalive ? 1 : 0,
      keepAliveTimeout: policy.keepalive ? 4000 : 1,
      keepAliveMaxTimeout: policy.keepalive ? 60_000 : 1,
    });
    agents.set(key, agent);
  }
  return agent;
}

export interface IdpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  /** application/x-www-form-urlencoded body. */
  form?: URLSearchParams;
}

/**
 * Send one request to the IdP and read the whole (bounded) body. Throws
 * IdpUnavailable on transport errors and timeouts; HTTP statuses (including
 * 5xx) are returned for the caller's `process` step to judge.
 */
export async function send(endpoint: IdpEndpoint, policy: HttpPolicy, req: IdpRequest): Promise<IdpResponse> {
  const startedAt = performance.now();
  try {
    const res = await traced(endpoint, policy, req);
    recordIdpRequest(endpoint, origin(req.url), res.status, false, performance.now() - startedAt);
    return res;
  } catch (err) {
    const f = err as IdpUnavailable;
    recordIdpRequest(endpoint, origin(req.url), f.status ?? 0, f.timedOut === true, performance.now() - startedAt);
    throw err;
  }
}

/** The request under a tracing span when the request is traced. */
async function traced(endpoint: IdpEndpoint, policy: HttpPolicy, req: IdpRequest): Promise<IdpResponse> {
  const headers: Record<string, string> = { 'user-agent': 'portcullis-openid-connect', ...req.headers };
  let body: string | undefined;
  if (req.form !== undefined) {
    body = req.form.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  // Kong's http_client instrumentation: a `kong.internal.request` span under the running plugin's span.
  const span = startClientSpan(req.method, req.url, headers['user-agent']!);
  if (span === null) return exchange(endpoint, policy, req, headers, body);
  try {
    const res = await exchange(endpoint, policy, req, headers, body);
    span.setAttribute('http.status_code', res.status);
    return res;
  } catch (err) {
    span.recordError((err as Error).message);
    throw err;
  } finally {
    span.finish();
  }
}

async function exchange(endpoint: IdpEndpoint, policy: HttpPolicy, req: IdpRequest, headers: Record<string, string>, body: string | undefined): Promise<IdpResponse> {
  const timeout = policy.timeoutMs > 0 ? policy.timeoutMs : 10_000;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(req.url, {
      method: req.method,
      headers,
      body,
      dispatcher: agentFor(policy),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
    });
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    const timedOut = e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT';
    throw new IdpUnavailable(endpoint, `${endpoint} request to ${origin(req.url)} failed: ${e.code ?? e.name ?? 'error'}${timedOut ? ' (timeout)' : ''}`, 0, timedOut);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_RESPONSE_BYTES) {
        res.body.destroy();
        throw new IdpUnavailable(endpoint, `${endpoint} response from ${origin(req.url)} exceeds ${MAX_RESPONSE_BYTES} bytes`, res.statusCode);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof IdpUnavailable) throw err;
    throw new IdpUnavailable(endpoint, `${endpoint} response from ${origin(req.url)} was cut off`, res.statusCode);
  }
  return { status: res.statusCode, headers: res.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
}

/** Parse a JSON object body; anything else is an IdP failure (it answered, but not in the protocol). */
export function jsonObject(endpoint: IdpEndpoint, res: IdpResponse): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new IdpUnavailable(endpoint, `${endpoint} answered ${res.status} with a body that is not JSON`, res.status);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new IdpUnavailable(endpoint, `${endpoint} answered ${res.status} with JSON that is not an object`, res.status);
  }
  return parsed as Record<string, unknown>;
}

/** Scheme, host and port only: safe to log (no path, no query). */
export function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

/** The max-age of a Cache-Control header, in ms, or null. */
export function maxAgeMs(headers: IdpResponse['headers']): number | null {
  const cc = headers['cache-control'];
  const value = Array.isArray(cc) ? cc.join(',') : cc;
  if (value === undefined) return null;
  if (/\bno-store\b|\bno-cache\b/i.test(value)) return 0;
  const m = /\bmax-age\s*=\s*"?(\d+)"?/i.exec(value);
  return m === null ? null : Number(m[1]) * 1000;
}
