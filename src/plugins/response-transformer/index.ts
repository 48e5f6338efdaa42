/**
 * response-transformer (Kong's plugin of the same name, PRIORITY 800):
 * reshape the response on its way to the client
 * (kong/plugins/response-transformer/handler.lua).
 *
 *   header_filter  remove / rename / replace / add / append headers (./headers.ts);
 *                  then decides whether the body is transformed: some `json`
 *                  list is set and the Content-Type is JSON.
 *   body_filter    buffers the body (Kong's kong.response.get_raw_body) and
 *                  sends the transformed JSON at the end (./body.ts). A body
 *                  that does not parse as a JSON object is sent unchanged,
 *                  with a warning, as Kong does. Content-Length is dropped by
 *                  the core whenever a body filter runs.
 */
import { Buffer } from 'node:buffer';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { CompileEnv, PluginModule } from '../types.ts';
import { transformJsonBody } from './body.ts';
import { compileConfig, type CompiledResponseTransformer } from './compile.ts';
import { isJsonBody, sentHeader, transformHeaders } from './headers.ts';
import { check, schema, type ResponseTransformerConfig } from './schema.ts';

const NAME = 'response-transformer';

interface Compiled extends CompiledResponseTransformer {
  readonly log: CompileEnv['log'];
}

/** Body chunks collected until the end (per request, in kong.ctx.plugin). */
interface Pending {
  chunks: Buffer[];
  size: number;
}

function header_filter(ctx: RequestContext, conf: Compiled): void {
  transformHeaders(ctx, conf);
  if (conf.hasJson && isJsonBody(sentHeader(ctx, 'content-type'))) {
    pdk.setPluginState(ctx, NAME, { chunks: [], size: 0 });
  }
}

const EMPTY = Buffer.alloc(0);

function body_filter(ctx: RequestContext, conf: Compiled, chunk: Buffer, eof: boolean): Buffer {
  const p = pdk.pluginState<Pending | null>(ctx, NAME);
  if (p === undefined || p === null) return chunk;
  if (chunk.length > 0) {
    p.chunks.push(chunk);
    p.size += chunk.length;
  }
  if (!eof) return EMPTY;
  pdk.setPluginState(ctx, NAME, null);
  const body = p.chunks.length === 1 ? p.chunks[0]! : Buffer.concat(p.chunks, p.size);
  const out = transformJsonBody(conf, body);
  if (out === null) {
    conf.log.warn({ request_id: ctx.id }, 'body transform failed: failed parsing json body');
    return body;
  }
  return out;
}

export const responseTransformer: PluginModule<ResponseTransformerConfig, Compiled> = {
  name: NAME,
  version: VERSION,
  priority: 800,
  // Kong Enterprise lists this plugin among those that can be scoped to a consumer group.
  scopes: { consumer: true, route: true, service: true, consumer_group: true },
  schema,
  check,
  compile: (config, env) => ({ ...compileConfig(config), log: env.log }),
  header_filter,
  body_filter,
};

export default responseTransformer;
