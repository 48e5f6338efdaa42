/**
 * `config` of the jwt plugin, with Kong's names and defaults
 * (kong/plugins/jwt/schema.lua, Kong Gateway 3.x; `realm` since 3.6).
 */
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../../schema/typedefs.ts';

export const schema = Type.Object(
  {
    uri_param_names: Type.Array(Type.String(), { default: ['jwt'], description: 'A list of querystring parameters that Kong will inspect to retrieve JWTs.' }),
    cookie_names: Type.Array(Type.String(), { default: [], description: 'A list of cookie names that Kong will inspect to retrieve JWTs.' }),
    key_claim_name: Type.String({ default: 'iss', description: 'The name of the claim in which the key identifying the secret must be passed. The plugin will attempt to read this claim from the JWT payload and the header, in that order.' }),
    secret_is_base64: Type.Boolean({ default: false, description: 'If true, the plugin assumes the credential’s secret to be base64 encoded.' }),
    claims_to_verify: Type.Union([Type.Array(OneOf(['exp', 'nbf'] as const)), Type.Null()], {
      default: null,
      description: 'A list of registered claims (according to RFC 7519) that Kong can verify as well. Accepted values: one of exp or nbf.',
    }),
    anonymous: Type.Union([Type.String(), Type.Null()], {
      default: null,
      description: 'An optional string (consumer UUID or username) value to use as an “anonymous” consumer if authentication fails.',
    }),
    run_on_preflight: Type.Boolean({ default: true, description: 'A boolean value that indicates whether the plugin should run (and try to authenticate) on OPTIONS preflight requests.' }),
    maximum_expiration: Type.Number({ minimum: 0, maximum: 31536000, default: 0, description: 'A value between 0 and 31536000 (365 days) limiting the lifetime of the JWT to maximum_expiration seconds in the future.' }),
    header_names: Type.Array(Type.String(), { default: ['authorization'], description: 'A list of HTTP header names that Kong will inspect to retrieve JWTs.' }),
    realm: Type.Union([Type.String(), Type.Null()], {
      default: null,
      description: 'When authentication fails the plugin sends `WWW-Authenticate` header with `realm` attribute value.',
    }),
  },
  { additionalProperties: false },
);

export type JwtConfig = Static<typeof schema>;

/** Kong's entity check: maximum_expiration > 0 requires claims_to_verify to contain "exp". */
export function check(config: JwtConfig): Record<string, unknown> {
  if (!(config.maximum_expiration > 0)) return {};
  if (config.claims_to_verify?.includes('exp')) return {};
  return {
    '@entity': ["failed conditional validation given value of field 'config.maximum_expiration'"],
    claims_to_verify: config.claims_to_verify === null ? 'required field missing' : 'expected to contain: exp',
  };
}
