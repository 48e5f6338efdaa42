/**
 * What a plugin may touch. Plain functions over the RequestContext (no
 * per-request PDK object), named after Kong's PDK:
 *   request.*         kong.request
 *   serviceRequest.*  kong.service.request
 *   response.*        kong.response
 *   client.*          kong.client
 *   log.*             kong.log (serialize)
 */
export * as request from './request.ts';
export * as serviceRequest from './service-request.ts';
export * as response from './response.ts';
export * as client from './client.ts';
export * as log from './log.ts';
export { pluginState, setPluginState } from './ctx.ts';
