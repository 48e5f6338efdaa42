/**
 * http-log (Kong's plugin of the same name, PRIORITY 12, log phase): each
 * request's serialized entry (kong.log.serialize, src/pdk/log.ts) goes to
 * `http_endpoint` through Kong's queue (src/core/queue.ts), so the request
 * never waits for the log server: batches of `queue.max_batch_size` entries
 * (one entry: the JSON object; more: a JSON array), retried with back-off
 * until `queue.max_retry_time`, the oldest dropped beyond `queue.max_entries`.
 * (kong/plugins/http-log/handler.lua)
 *
 * As Kong: userinfo in `http_endpoint` becomes `Authorization: Basic …`;
 * `headers` never override Content-Type / Authorization; a status ≥ 300 is a
 * failure (retried); the server certificate of an https endpoint is not
 * verified (Kong's `ssl_verify = false`). Instances with the same endpoint,
 * method, content type, timeout, keepalive and retry_count share one queue
 * (Kong's make_queue_name). Differences, on purpose: the query of
 * `http_endpoint` is sent (Kong drops it), and neither the queue name in log
 * lines nor any error line carries the endpoint's password.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import type { Logger } from 'pino';
import type { RequestContext } from '../../core/context.ts';
import { enqueue, getPluginParams, type QueueParams } from '../../core/queue.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { serializedJson } from '../log-plugin.ts';
import { check, schema, userinfo, type HttpLogConfig } from './schema.ts';

interface CompiledHttpLog {
  readonly params: QueueParams;
  readonly send: (entries: string[]) => Promise<void>;
  readonly log: Logger;
}

/** One undici Agent per (timeout, keepalive): connections to log servers are kept `keepalive` ms when idle. */
const agents = new Map<string, Agent>();

function agentFor(timeout: number, keepalive: number): Agent {
  const key = `${timeout}/${keepalive}`;
  let agent = agents.get(key);
  if (agent === undefined) {
    const idle = Math.max(1, keepalive);
    agent = new Agent({
      keepAliveTimeout: idle,
      keepAliveMaxTimeout: idle,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: { timeout, rejectUnauthorized: false },
    });
    agents.set(key, agent);
  }
  return agent;
}

/** The endpoint with its password replaced, for queue names and log lines. */
function masked(endpoint: string): string {
  const info = userinfo(endpoint);
  if (info === null) return endpoint;
  const user = info.split(':')[0];
  const tag = createHash('sha256').update(info).digest('hex').slice(0, 8);
  return endpoint.replace(`${info}@`, `${user}:REDACTED(${tag})@`);
}

/** Kong's make_queue_name (endpoint, method, content_type, timeout, keepalive, retry_count), the password masked. */
function queueName(config: HttpLogConfig): string {
  return [masked(config.http_endpoint), config.method, config.content_type, config.timeout, config.keepalive, config.retry_count ?? 'nil'].join(':');
}

function sender(config: HttpLogConfig, batched: boolean): (entries: string[]) => Promise<void> {
  const url = new URL(config.http_endpoint);
  const info = userinfo(config.http_endpoint);
  url.username = '';
  url.password = '';
  const target = url.href;
  const where = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  const headers: Record<string, string> = { 'content-type': config.content_type };
  if (info !== null) headers['authorization'] = `Basic ${Buffer.from(info).toString('base64')}`;
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    const lower = name.toLowerCase();
    if (headers[lower] === undefined) headers[lower] = value; // never Content-Type or Authorization (Kong)
  }
  const dispatcher = agentFor(config.timeout, config.keepalive);
  return async (entries) => {
    const body = batched ? `[${entries.join(',')}]` : entries[0]!;
    let res;
    try {
      res = await request(target, { method: config.method, headers, body, dispatcher });
    } catch (err) {
      throw new Error(`failed request to ${where}: ${(err as Error).message}`);
    }
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      throw new Error(`request to ${where} returned status code ${res.statusCode} and body ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`);
    }
  };
}

function log(ctx: RequestContext, conf: CompiledHttpLog): void {
  const err = enqueue(conf.params, conf.send, serializedJson(ctx), conf.log);
  if (err !== null) conf.log.error({ request_id: ctx.id }, `Failed to enqueue log entry to log server: ${err}`);
}

export const httpLog: PluginModule<HttpLogConfig, CompiledHttpLog> = {
  name: 'http-log',
  version: VERSION,
  priority: 12,
  schema,
  check,
  compile(config, env) {
    const params = getPluginParams({ name: 'http-log', id: env.pluginId }, config, queueName(config), env.log);
    return Object.freeze({ params, send: sender(config, params.max_batch_size > 1), log: env.log });
  },
  log,
};

export default httpLog;
