/**
 * correlation-id (Kong's plugin of the same name): give every request an id
 * in a header the upstream receives, optionally echoed to the client.
 *
 * A value the client already sent in the header is honoured and passed on
 * untouched (Kong: "If a header with the same name is already present in the
 * client request, the plugin honors it"); an empty value counts as absent.
 * Priority 100001 (Kong 3.x), so the id exists before any other plugin runs.
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { generate } from './generators.ts';
import { schema, type CorrelationIdConfig, type Generator } from './schema.ts';

const NAME = 'correlation-id';

export interface CompiledCorrelationId {
  /** Lower-cased header name. */
  readonly header: string;
  readonly generator: Generator;
  readonly echo: boolean;
}

function access(ctx: RequestContext, conf: CompiledCorrelationId): void {
  let id = pdk.request.getHeader(ctx, conf.header);
  if (id === undefined || id === '') {
    id = generate(conf.generator, ctx);
    pdk.serviceRequest.setHeader(ctx, conf.header, id);
  }
  // Kong: kong.log.set_serialize_value("correlation_id", …)
  if (ctx.logFields === null) ctx.logFields = {};
  ctx.logFields.correlation_id = id;
  if (conf.echo) pdk.setPluginState(ctx, NAME, id);
}

function header_filter(ctx: RequestContext, conf: CompiledCorrelationId): void {
  if (!conf.echo) return;
  // access may not have run (the request was answered earlier): fall back to
  // the client's value, else generate one, as Kong's header_filter does.
  let id = pdk.pluginState<string>(ctx, NAME) ?? pdk.request.getHeader(ctx, conf.header);
  if (id === undefined || id === '') id = generate(conf.generator, ctx);
  pdk.response.setHeader(ctx, conf.header, id);
}

export const correlationId: PluginModule<CorrelationIdConfig, CompiledCorrelationId> = {
  name: NAME,
  version: VERSION,
  priority: 100001,
  schema,
  compile(config) {
    return Object.freeze({ header: config.header_name.toLowerCase(), generator: config.generator, echo: config.echo_downstream });
  },
  access,
  header_filter,
};

export default correlationId;
