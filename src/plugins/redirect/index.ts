/**
 * redirect (Kong's plugin of the same name, PRIORITY 779 — after rate
 * limiting, validation and transformation plugins): answer every request
 * with `status_code`, `Location: <location>` and the body "redirecting"
 * (kong/plugins/redirect/handler.lua). With keep_incoming_path the
 * location's path and query are replaced by the request's (Kong uses ada's
 * WHATWG URL setters; node's URL is WHATWG too).
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { schema, type RedirectConfig } from './schema.ts';

interface CompiledRedirect {
  readonly status: number;
  readonly location: string;
  /** Parsed location when keep_incoming_path is set, else null. */
  readonly base: URL | null;
}

function locationFor(ctx: RequestContext, conf: CompiledRedirect): string {
  if (conf.base === null) return conf.location;
  const url = new URL(conf.base.href);
  url.pathname = ctx.path;
  url.search = ctx.query;
  return url.href;
}

function access(ctx: RequestContext, conf: CompiledRedirect): void {
  pdk.response.exit(ctx, conf.status, 'redirecting', { location: locationFor(ctx, conf) });
}

export const redirect: PluginModule<RedirectConfig, CompiledRedirect> = {
  name: 'redirect',
  version: VERSION,
  priority: 779,
  // Kong Enterprise lists this plugin among those that can be scoped to a consumer group.
  scopes: { consumer: true, route: true, service: true, consumer_group: true },
  schema,
  compile(config) {
    let base: URL | null = null;
    // A location the url check accepts but WHATWG cannot parse is sent as-is.
    if (config.keep_incoming_path && URL.canParse(config.location)) base = new URL(config.location);
    return Object.freeze({ status: config.status_code, location: config.location, base });
  },
  access,
};

export default redirect;
