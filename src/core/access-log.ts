/**
 * One JSON line per proxied request, written after the last byte (Kong's log
 * phase). Deliberately narrow: the path without its query string (query
 * values are often tokens), never a header value, so Authorization, Cookie
 * and API keys cannot leak into logs. Plugins add redacted fields through
 * ctx.logFields.
 */
import type { Logger } from 'pino';
import type { RequestContext } from './context.ts';

export interface AccessLogTimings {
  /** ms the gateway spent before contacting the upstream (or producing the answer). */
  proxy: number;
  /** ms from the upstream request to its response headers; null when not proxied. */
  upstream: number | null;
  /** ms from the first byte of the request to the last byte of the response. */
  request: number;
}

export class AccessLog {
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  /** Lines are written at `info`: below that level the caller skips building one. */
  enabled(): boolean {
    return this.log.isLevelEnabled('info');
  }

  write(ctx: RequestContext, status: number, timings: AccessLogTimings, bytesIn: number, bytesOut: number): void {
    const route = ctx.route;
    const service = ctx.service;
    const consumer = ctx.consumer;
    const line = {
      request_id: ctx.id,
      method: ctx.method,
      path: ctx.rawPath,
      status,
      upstream_status: ctx.upstreamStatus === 0 ? null : ctx.upstreamStatus,
      route: route === null ? null : { id: route.id, name: route.name },
      service: service === null ? null : { id: service.id, name: service.name },
      consumer: consumer === null ? null : { id: consumer.id, username: consumer.username },
      client_ip: ctx.clientIp,
      latencies: timings,
      bytes: { request: bytesIn, response: bytesOut },
      error_code: ctx.errorCode,
      fields: ctx.logFields,
    };
    this.log.info(line, 'request');
  }
}
