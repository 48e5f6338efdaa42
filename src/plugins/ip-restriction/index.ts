/**
 * ip-restriction (Kong's plugin of the same name): refuse clients by address.
 * kong/plugins/ip-restriction/handler.lua, Kong Gateway 3.x: PRIORITY 990,
 * access phase. The address is the client IP as the gateway resolved it
 * (nginx `$remote_addr` after the realip module: kong.conf trusted_ips,
 * real_ip_header, real_ip_recursive — src/core/proxy/client-ip.ts).
 *
 * `deny` is checked first, then `allow`: an address in neither list is
 * refused when `allow` is set. The refusal is kong.response.error(status,
 * message): status defaults to 403, message to "IP address not allowed: <ip>".
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { IpMatcher } from '../../shared/ip.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { check, schema, type IpRestrictionConfig } from './schema.ts';

export interface CompiledIpRestriction {
  readonly allow: IpMatcher | null;
  readonly deny: IpMatcher | null;
  readonly status: number;
  readonly message: string | null;
}

function refuse(ctx: RequestContext, conf: CompiledIpRestriction, ip: string): void {
  pdk.response.error(ctx, conf.status, conf.message ?? `IP address not allowed: ${ip}`);
}

function access(ctx: RequestContext, conf: CompiledIpRestriction): void {
  const ip = pdk.client.getIp(ctx);
  if (ip === '') {
    // Kong: no binary_remote_addr (a unix domain socket).
    pdk.response.error(ctx, 403, 'Cannot identify the client IP address, unix domain sockets are not supported.');
    return;
  }
  if (conf.deny !== null && conf.deny.contains(ip)) return refuse(ctx, conf, ip);
  if (conf.allow !== null && !conf.allow.contains(ip)) return refuse(ctx, conf, ip);
}

const matcher = (list: readonly string[] | null): IpMatcher | null => (list !== null && list.length > 0 ? new IpMatcher(list) : null);

export const ipRestriction: PluginModule<IpRestrictionConfig, CompiledIpRestriction> = {
  name: 'ip-restriction',
  version: VERSION,
  priority: 990,
  // Kong Enterprise lists this plugin among those that can be scoped to a consumer group.
  scopes: { consumer: true, route: true, service: true, consumer_group: true },
  schema,
  check,
  compile(config) {
    return Object.freeze({
      allow: matcher(config.allow),
      deny: matcher(config.deny),
      status: config.status ?? 403,
      message: config.message,
    });
  },
  access,
};

export default ipRestriction;
