/**
 * jwt (Kong's plugin of the same name, kong/plugins/jwt/handler.lua, Kong
 * Gateway 3.x, priority 1450): authenticate a request by a signed JWT whose
 * `key_claim_name` claim (or header field) names a consumer's `jwt_secrets`
 * credential by its `key`.
 *
 * Steps and answers, as Kong (all 401; body `{"message": …}` unless said):
 *  - no token: "Unauthorized" (challenge `Bearer` or `Bearer realm="<realm>"`);
 *  - two different tokens: "Multiple tokens provided";
 *  - undecodable: "Bad token; invalid JSON" / "invalid alg" / "invalid signature";
 *  - no key claim: "No mandatory '<key_claim_name>' in claims"; empty: "Invalid '<…>' in claims";
 *  - no credential with that key: "No credentials found for given '<…>'";
 *  - the token's alg differs from the credential's `algorithm`: "Invalid algorithm"
 *    (the token never chooses how it is verified);
 *  - no usable secret / public key: "Invalid key/secret";
 *  - bad signature: "Invalid signature";
 *  - claims_to_verify / maximum_expiration failures: the body is the claim → error map,
 *    e.g. `{"exp":"token expired"}`;
 * every failure after the first carries `error="invalid_token"` in its challenge.
 * Success: the consumer is authenticated, X-Credential-Identifier is the
 * credential's key, and the token is kept for later plugins
 * (kong.ctx.shared.authenticated_jwt_token → pluginState 'jwt').
 */
import { Buffer } from 'node:buffer';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import { failOrAnonymous, setConsumer } from '../auth-consumer.ts';
import type { PluginModule } from '../types.ts';
import { checkMaximumExpiration, verifyRegisteredClaims } from './claims.ts';
import { check, schema, type JwtConfig } from './schema.ts';
import { base64UrlDecode, decodeToken, retrieveTokens } from './token.ts';
import { signatureValid, verificationKey } from './verify.ts';

export interface CompiledJwt {
  readonly uriParamNames: readonly string[];
  readonly cookieNames: readonly string[];
  /** lower-cased */
  readonly headerNames: readonly string[];
  readonly keyClaimName: string;
  readonly secretIsBase64: boolean;
  readonly claimsToVerify: readonly string[];
  readonly anonymous: string | null;
  readonly runOnPreflight: boolean;
  readonly maximumExpiration: number;
  readonly challenge: string;
  readonly challengeWithError: string;
}

interface Failure {
  readonly body: Record<string, unknown>;
  readonly challenge: string;
}

const fail = (message: string, challenge: string): Failure => ({ body: { message }, challenge });

/** null when authenticated. */
async function authenticate(ctx: RequestContext, conf: CompiledJwt): Promise<Failure | null> {
  const found = retrieveTokens(ctx, conf.uriParamNames, conf.cookieNames, conf.headerNames);
  const withError = conf.challengeWithError;
  if (found === null) return fail('Unauthorized', conf.challenge);
  if ('multiple' in found) return fail('Multiple tokens provided', withError);

  const jwt = decodeToken(found.token);
  if ('error' in jwt) return fail(`Bad token; ${jwt.error}`, withError);

  const name = conf.keyClaimName;
  const keyValue = jwt.claims[name] ?? jwt.header[name];
  if (keyValue === undefined || keyValue === null || keyValue === false) return fail(`No mandatory '${name}' in claims`, withError);
  if (keyValue === '') return fail(`Invalid '${name}' in claims`, withError);
  const match = typeof keyValue === 'string' || typeof keyValue === 'number' ? pdk.client.findCredential(ctx, 'jwt_secrets', String(keyValue)) : null;
  if (match === null) return fail(`No credentials found for given '${name}'`, withError);

  const cred = match.credential;
  const algorithm = typeof cred.algorithm === 'string' ? cred.algorithm : 'HS256';
  if (jwt.alg !== algorithm) return fail('Invalid algorithm', withError);

  const stored = algorithm.startsWith('HS') ? cred.secret : cred.rsa_public_key;
  let material: Buffer | null = typeof stored === 'string' ? Buffer.from(stored, 'utf8') : null;
  if (material !== null && conf.secretIsBase64) material = base64UrlDecode(stored as string);
  const key = material === null ? null : verificationKey(algorithm, material);
  if (key === null) return fail('Invalid key/secret', withError);
  if (!(await signatureValid(jwt.token, algorithm, key))) return fail('Invalid signature', withError);

  const now = Math.floor(Date.now() / 1000);
  const claimErrors = verifyRegisteredClaims(jwt.claims, conf.claimsToVerify, now) ?? checkMaximumExpiration(jwt.claims, conf.maximumExpiration, now);
  if (claimErrors !== null) return { body: claimErrors, challenge: withError };

  const identifier = typeof cred.key === 'string' ? cred.key : null;
  setConsumer(ctx, match.consumer, { id: cred.id, identifier, consumer_id: match.consumer.id, key: identifier });
  pdk.setPluginState(ctx, 'jwt', jwt.token);
  return null;
}

async function access(ctx: RequestContext, conf: CompiledJwt): Promise<void> {
  if (!conf.runOnPreflight && ctx.method === 'OPTIONS') return;
  // Kong: with anonymous configured, a credential from an earlier auth plugin means we are done (logical OR).
  if (conf.anonymous !== null && pdk.client.getCredential(ctx) !== null) return;
  const failure = await authenticate(ctx, conf);
  if (failure === null) return;
  // Kong: kong.response.exit(err.status, err.errors or { message = err.message }, err.headers)
  failOrAnonymous(ctx, conf.anonymous, () => pdk.response.exit(ctx, 401, failure.body, { 'www-authenticate': failure.challenge }));
}

export const jwt: PluginModule<JwtConfig, CompiledJwt> = {
  name: 'jwt',
  version: VERSION,
  priority: 1450,
  // Kong: consumer = typedefs.no_consumer
  scopes: { consumer: false, route: true, service: true },
  protocols: ['grpc', 'grpcs', 'http', 'https', 'ws', 'wss'],
  schema,
  check,
  compile(config) {
    const challenge = config.realm === null ? 'Bearer' : `Bearer realm="${config.realm}"`;
    return Object.freeze({
      uriParamNames: Object.freeze([...config.uri_param_names]),
      cookieNames: Object.freeze([...config.cookie_names]),
      headerNames: Object.freeze(config.header_names.map((h) => h.toLowerCase())),
      keyClaimName: config.key_claim_name,
      secretIsBase64: config.secret_is_base64,
      claimsToVerify: Object.freeze([...new Set(config.claims_to_verify ?? [])]),
      anonymous: config.anonymous === '' || config.anonymous === null ? null : config.anonymous,
      runOnPreflight: config.run_on_preflight,
      maximumExpiration: config.maximum_expiration,
      challenge,
      challengeWithError: `${challenge} error="invalid_token"`,
    });
  },
  access,
};

export default jwt;
