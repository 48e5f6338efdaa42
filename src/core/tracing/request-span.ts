/**
 * The request span's attributes (Kong's instrumentation.request and
 * runloop_before_header_filter), written when the request ends and only for
 * a trace that is sampled — an unsampled request builds none of them.
 */
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../context.ts';

export function finishRequestTrace(ctx: RequestContext, peer: string, status: number): void {
  const trace = ctx.trace!;
  trace.finish(performance.now());
  if (trace.sampled !== true) return;
  const root = trace.root;
  const host = ctx.host;
  const uri = ctx.req.url ?? '/';
  root.setAttribute('http.method', ctx.method);
  root.setAttribute('http.url', `${ctx.scheme}://${host}${uri.charCodeAt(0) === 47 ? uri : ctx.rawPath + (ctx.query !== '' ? '?' + ctx.query : '')}`);
  root.setAttribute('http.host', host);
  root.setAttribute('http.scheme', ctx.scheme);
  root.setAttribute('http.flavor', ctx.req.httpVersion);
  root.setAttribute('http.client_ip', ctx.clientIp);
  root.setAttribute('net.peer.ip', peer);
  root.setAttribute('kong.request.id', ctx.id);
  root.setAttribute('http.status_code', status);
  const paths = ctx.route?.paths;
  root.setAttribute('http.route', paths !== undefined && paths !== null && paths.length > 0 ? paths[0]! : '');
}
