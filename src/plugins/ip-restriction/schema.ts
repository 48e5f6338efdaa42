/**
 * `config` of the ip-restriction plugin, with Kong's names and defaults
 * (kong/plugins/ip-restriction/schema.lua, Kong Gateway 3.x): allow / deny
 * lists of IPs or CIDR blocks (IPv4 and IPv6), and the status and message of
 * the refusal.
 */
import { Type, type Static } from '@sinclair/typebox';
import { typedefs } from '../../schema/typedefs.ts';

const cidrs = (description: string) => Type.Union([Type.Array(typedefs.ipOrCidr()), Type.Null()], { default: null, description });

export const schema = Type.Object(
  {
    allow: cidrs('List of IPs or CIDR ranges to allow. One of `config.allow` or `config.deny` must be specified.'),
    deny: cidrs('List of IPs or CIDR ranges to deny. One of `config.allow` or `config.deny` must be specified.'),
    status: Type.Union([Type.Number(), Type.Null()], { default: null, description: 'The HTTP status of the requests that will be rejected by the plugin.' }),
    message: Type.Union([Type.String(), Type.Null()], { default: null, description: 'The message to send as a response body to rejected requests.' }),
  },
  { additionalProperties: false },
);

export type IpRestrictionConfig = Static<typeof schema>;

/** Kong's entity check: at_least_one_of { config.allow, config.deny }. */
export function check(config: IpRestrictionConfig): Record<string, unknown> {
  const set = (v: readonly string[] | null | undefined) => Array.isArray(v) && v.length > 0;
  if (!set(config.allow) && !set(config.deny)) return { '@entity': ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"] };
  return {};
}
