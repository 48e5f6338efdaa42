/**
 * request-size-limiting (Kong's plugin of the same name): refuse request
 * bodies larger than allowed_payload_size × size_unit.
 * kong/plugins/request-size-limiting/handler.lua, Kong Gateway 3.x:
 * PRIORITY 951, access phase.
 *
 * - No numeric Content-Length, require_content_length, and Transfer-Encoding
 *   not exactly "chunked" (a chunked request is measured instead): 411
 *   "A valid Content-Length header is required" (handler.lua:49-50 in 3.9.3;
 *   every reply here is kong.response.error).
 * - A numeric Content-Length is compared without reading the body: over the
 *   limit → 413 "Request size limit exceeded" (417 when the client sent
 *   `Expect: 100-continue`, so it never sends the body).
 * - Otherwise (a chunked body) Kong reads the whole body in access and
 *   measures it. So does this plugin, counting while it reads and stopping
 *   at the first byte over the limit: memory stays bounded by the limit and
 *   the upstream is never contacted for a refused body. The body read within
 *   the limit is then sent upstream as read (pdk.request.getRawBody).
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { schema, UNIT_FACTOR, type RequestSizeLimitingConfig } from './schema.ts';

export interface CompiledSizeLimit {
  readonly limit: number;
  readonly requireContentLength: boolean;
}

const MESSAGE = 'Request size limit exceeded';

function exceeded(ctx: RequestContext): void {
  const expect = pdk.request.getHeader(ctx, 'expect');
  const status = expect !== undefined && expect.trim().toLowerCase() === '100-continue' ? 417 : 413;
  pdk.response.error(ctx, status, MESSAGE);
}

async function access(ctx: RequestContext, conf: CompiledSizeLimit): Promise<void> {
  const cl = pdk.request.getHeader(ctx, 'content-length');
  if (cl !== undefined && cl.trim() !== '' && !Number.isNaN(Number(cl))) {
    if (Number(cl) > conf.limit) exceeded(ctx);
    return;
  }
  const te = pdk.request.getHeader(ctx, 'transfer-encoding');
  // Kong: `conf.require_content_length and headers["Transfer-Encoding"] ~= "chunked"`
  if (conf.requireContentLength && te !== 'chunked') {
    pdk.response.error(ctx, 411, 'A valid Content-Length header is required');
    return;
  }
  // No usable Content-Length: only a chunked request has a body to measure.
  if (te === undefined) return;
  try {
    await pdk.request.getRawBody(ctx, conf.limit);
  } catch (err) {
    if (err instanceof RangeError) exceeded(ctx);
    else throw err;
  }
}

export const requestSizeLimiting: PluginModule<RequestSizeLimitingConfig, CompiledSizeLimit> = {
  name: 'request-size-limiting',
  version: VERSION,
  priority: 951,
  schema,
  compile(config) {
    return Object.freeze({
      limit: config.allowed_payload_size * UNIT_FACTOR[config.size_unit],
      requireContentLength: config.require_content_length,
    });
  },
  access,
};

export default requestSizeLimiting;
