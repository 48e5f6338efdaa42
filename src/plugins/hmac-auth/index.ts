/**
 * hmac-auth (Kong's plugin of the same name, kong/plugins/hmac-auth/access.lua,
 * Kong Gateway 3.x, priority 1030): authenticate a request by an HMAC
 * signature (draft-cavage HTTP signatures) made with a consumer's
 * `hmacauth_credentials` secret.
 *
 * In Kong's order, each failure a 401 with `WWW-Authenticate: hmac` (or
 * `hmac realm="<realm>"`):
 *  1. neither Authorization nor Proxy-Authorization: "Unauthorized";
 *  2. neither `x-date` nor `date` within clock_skew seconds of now: "HMAC signature
 *     cannot be verified, a valid date or x-date header is required for HMAC Authentication";
 *  3. Proxy-Authorization is read first, Authorization when it has no username
 *     (hide_credentials removes the header used);
 *  4. username/signature missing, an enforce_headers name not signed, an algorithm
 *     not in `algorithms`, an unknown username: "HMAC signature cannot be verified";
 *  5. a wrong signature, or with validate_request_body a body whose
 *     `Digest: SHA-256=…` does not match: "HMAC signature does not match".
 * Success: X-Credential-Identifier is the credential's username.
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import { failOrAnonymous, setConsumer } from '../auth-consumer.ts';
import type { PluginModule } from '../types.ts';
import { schema, type HmacAuthConfig } from './schema.ts';
import { digestMatches, parseHmac, signatureMatches, type HmacParams } from './signature.ts';

const NOT_VALID = 'HMAC signature cannot be verified';
const NOT_SAME = 'HMAC signature does not match';
const NO_DATE = 'HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication';

export interface CompiledHmacAuth {
  readonly hideCredentials: boolean;
  readonly clockSkew: number;
  readonly anonymous: string | null;
  readonly validateRequestBody: boolean;
  readonly enforceHeaders: readonly string[];
  readonly algorithms: ReadonlySet<string>;
  readonly challenge: string;
}

/** Kong's validate_clock_skew: the header parses as an HTTP date within `skew` seconds of now. */
function dateWithinSkew(ctx: RequestContext, header: string, skew: number): boolean {
  const value = pdk.request.getHeader(ctx, header);
  if (value === undefined) return false;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return false;
  return Math.abs(Math.floor(Date.now() / 1000) - Math.floor(at / 1000)) <= skew;
}

/** Kong's validate_params. */
function paramsValid(params: HmacParams | null, conf: CompiledHmacAuth): params is HmacParams {
  if (params === null || params.username === '' || params.signature === '') return false;
  for (const h of conf.enforceHeaders) if (!params.headers.includes(h)) return false;
  return conf.algorithms.has(params.algorithm);
}

async function authenticate(ctx: RequestContext, conf: CompiledHmacAuth): Promise<string | null> {
  const authorization = pdk.request.getHeader(ctx, 'authorization');
  const proxyAuthorization = pdk.request.getHeader(ctx, 'proxy-authorization');
  if (authorization === undefined && proxyAuthorization === undefined) return 'Unauthorized';
  if (!dateWithinSkew(ctx, 'x-date', conf.clockSkew) && !dateWithinSkew(ctx, 'date', conf.clockSkew)) return NO_DATE;

  let params = parseHmac(proxyAuthorization);
  if (params === null) {
    params = parseHmac(authorization);
    if (conf.hideCredentials) pdk.serviceRequest.clearHeader(ctx, 'authorization');
  } else if (conf.hideCredentials) {
    pdk.serviceRequest.clearHeader(ctx, 'proxy-authorization');
  }
  if (!paramsValid(params, conf)) return NOT_VALID;

  const match = pdk.client.findCredential(ctx, 'hmacauth_credentials', params.username);
  const secret = match?.credential.secret;
  if (match === null || typeof secret !== 'string') return NOT_VALID;
  if (!signatureMatches(ctx, params, secret)) return NOT_SAME;
  if (conf.validateRequestBody) {
    let body: Buffer;
    try {
      body = await pdk.request.getRawBody(ctx);
    } catch {
      return NOT_SAME;
    }
    if (!digestMatches(body, pdk.request.getHeader(ctx, 'digest'))) return NOT_SAME;
  }
  setConsumer(ctx, match.consumer, { id: match.credential.id, identifier: params.username, consumer_id: match.consumer.id, username: params.username });
  return null;
}

async function access(ctx: RequestContext, conf: CompiledHmacAuth): Promise<void> {
  // Kong: with anonymous configured, a credential from an earlier auth plugin means we are done (logical OR).
  if (conf.anonymous !== null && pdk.client.getCredential(ctx) !== null) return;
  const failure = await authenticate(ctx, conf);
  if (failure === null) return;
  failOrAnonymous(ctx, conf.anonymous, () => pdk.response.error(ctx, 401, failure, { 'www-authenticate': conf.challenge }));
}

export const hmacAuth: PluginModule<HmacAuthConfig, CompiledHmacAuth> = {
  name: 'hmac-auth',
  version: VERSION,
  priority: 1030,
  // Kong: consumer = typedefs.no_consumer
  scopes: { consumer: false, route: true, service: true },
  protocols: ['grpc', 'grpcs', 'http', 'https', 'ws', 'wss'],
  schema,
  compile(config) {
    return Object.freeze({
      hideCredentials: config.hide_credentials,
      clockSkew: config.clock_skew,
      anonymous: config.anonymous === '' || config.anonymous === null ? null : config.anonymous,
      validateRequestBody: config.validate_request_body,
      enforceHeaders: Object.freeze([...config.enforce_headers]),
      algorithms: new Set<string>(config.algorithms),
      challenge: config.realm === null ? 'hmac' : `hmac realm="${config.realm}"`,
    });
  },
  access,
};

export default hmacAuth;
