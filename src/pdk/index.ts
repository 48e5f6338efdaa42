/**
 * What a plugin may touch. Plain functions over the RequestContext (no
 * per-request PDK object), named after Kong's PDK:
 *   request.*         kong.request
 *   serviceRequest.*  kong.service.request
 *   response.*        kong.response
 *   serviceResponse.* kong.service.response
 *   client.*          kong.client
 *   node.*            kong.node
 *   log.*             kong.log (serialize)
 */
export * as request from './request.ts';
export * as serviceRequest from './service-request.ts';
export * as response from './response.ts';
export * as serviceResponse from './service-response.ts';
export * as client from './client.ts';
export * as node from './node.ts';
export * as log from './log.ts';
export { pluginState, setPluginState } from './ctx.ts';
