/**
 * request-termination (Kong's plugin of the same name): answer every request
 * with a fixed status and message or body, without contacting the upstream;
 * or, with `echo`, send a copy of the request back. With `trigger` set, it
 * only acts when the request has that header or query argument (any mode).
 * kong/plugins/request-termination/handler.lua, Kong Gateway 3.x: PRIORITY 2,
 * access phase only.
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { echoDocument } from './echo.ts';
import { check, schema, type RequestTerminationConfig } from './schema.ts';

/** Kong's DEFAULT_RESPONSE: the message used when `message` is not set. */
const DEFAULT_RESPONSE: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  500: 'An unexpected error occurred',
  502: 'Bad Gateway',
  503: 'Service unavailable',
};

export interface CompiledTermination {
  readonly status: number;
  readonly message: string | undefined;
  readonly body: string | null;
  readonly contentType: string | null;
  readonly echo: boolean;
  /** Lower-cased for the header lookup; the query lookup uses it as configured. */
  readonly trigger: string | null;
}

async function access(ctx: RequestContext, conf: CompiledTermination): Promise<void> {
  // Kong handler.lua:26-35: a trigger set but absent from headers and query → proxy normally, whatever the mode
  if (conf.trigger !== null && pdk.request.getHeader(ctx, conf.trigger.toLowerCase()) === undefined && !pdk.request.getQuery(ctx).has(conf.trigger)) {
    return;
  }
  if (conf.echo) {
    const doc = await echoDocument(ctx, conf.message);
    pdk.response.exit(ctx, conf.status, JSON.stringify(doc), { 'content-type': 'application/json' });
    return;
  }
  if (conf.body !== null) {
    pdk.response.exit(ctx, conf.status, conf.body, conf.contentType !== null ? { 'content-type': conf.contentType } : null);
    return;
  }
  pdk.response.exit(ctx, conf.status, conf.message !== undefined ? { message: conf.message } : null);
}

export const requestTermination: PluginModule<RequestTerminationConfig, CompiledTermination> = {
  name: 'request-termination',
  version: VERSION,
  priority: 2,
  // Kong Enterprise lists this plugin among those that can be scoped to a consumer group.
  scopes: { consumer: true, route: true, service: true, consumer_group: true },
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  schema,
  check,
  compile(config) {
    const status = config.status_code;
    return Object.freeze({
      status,
      message: config.message ?? DEFAULT_RESPONSE[status],
      body: config.body,
      contentType: config.content_type,
      echo: config.echo,
      trigger: config.trigger,
    });
  },
  access,
};

export default requestTermination;
