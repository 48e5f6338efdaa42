/**
 * `config` of the acl plugin, with Kong's names and defaults
 * (kong/plugins/acl/schema.lua, Kong Gateway 3.x).
 */
import { Type, type Static } from '@sinclair/typebox';

const groupList = (description: string) =>
  Type.Union([Type.Array(Type.String()), Type.Null()], { default: null, description });

export const schema = Type.Object(
  {
    allow: groupList('Arbitrary group names that are allowed to consume the service or route. One of `config.allow` or `config.deny` must be specified.'),
    deny: groupList('Arbitrary group names that are not allowed to consume the service or route. One of `config.allow` or `config.deny` must be specified.'),
    hide_groups_header: Type.Boolean({ default: false, description: 'If enabled (`true`), prevents the `X-Consumer-Groups` header from being sent in the request to the upstream service.' }),
    include_consumer_groups: Type.Boolean({ default: false, description: 'If enabled (`true`), allows the consumer-groups to be used in the `allow|deny` fields' }),
    always_use_authenticated_groups: Type.Boolean({
      default: false,
      description: 'If enabled (`true`), the authenticated groups will always be used even when an authenticated consumer already exists.',
    }),
  },
  { additionalProperties: false },
);

export type AclConfig = Static<typeof schema>;

function nonEmpty(v: readonly string[] | null | undefined): boolean {
  return Array.isArray(v) && v.length > 0;
}

/** Kong's entity checks: at_least_one_of and only_one_of { config.allow, config.deny }. */
export function check(config: AclConfig): Record<string, unknown> {
  const allow = nonEmpty(config.allow);
  const deny = nonEmpty(config.deny);
  if (!allow && !deny) return { '@entity': ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"] };
  if (allow && deny) return { '@entity': ["only one of these fields must be non-empty: 'config.allow', 'config.deny'"] };
  return {};
}
