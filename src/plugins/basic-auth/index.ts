/**
 * basic-auth (Kong's plugin of the same name, kong/plugins/basic-auth/
 * handler.lua + access.lua, Kong Gateway 3.x, priority 1100): authenticate a
 * request by username and password against a consumer's
 * `basicauth_credentials` (password stored as Kong stores it: hex
 * SHA-1 of `password .. consumer_id`).
 *
 * As Kong:
 *  - neither `Authorization` nor `Proxy-Authorization`: 401 "Unauthorized";
 *  - `Proxy-Authorization` is tried first; when it names no stored username,
 *    `Authorization` is read; no readable credentials there, an unknown
 *    username or a wrong password: also 401 "Unauthorized" (Kong 3.6+,
 *    access.lua:164/179/184 in 3.9.3; before 3.6 it said "Invalid
 *    authentication credentials"); every 401 carries
 *    `WWW-Authenticate: Basic realm="<realm>"` via kong.response.error;
 *  - hide_credentials: each header read is removed from the upstream request;
 *  - success: the consumer is authenticated, X-Credential-Identifier is the
 *    credential's username (see ../auth-consumer.ts for the other headers);
 *  - `anonymous`: failures proceed as that consumer; already authenticated
 *    by an earlier plugin → nothing to do (Kong's logical OR).
 * Passwords are compared as their salted digests, in constant time.
 */
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { hashBasicAuthPassword } from '../../schema/entities/basicauth-credentials.ts';
import { VERSION } from '../../version.ts';
import { failOrAnonymous, setConsumer } from '../auth-consumer.ts';
import type { PluginModule } from '../types.ts';
import { parseBasic, type GivenCredentials } from './credentials.ts';
import { schema, type BasicAuthConfig } from './schema.ts';

const UNAUTHORIZED = 'Unauthorized';

export interface CompiledBasicAuth {
  readonly anonymous: string | null;
  readonly hideCredentials: boolean;
  /** The WWW-Authenticate value of every 401. */
  readonly challenge: string;
}

/** Kong's retrieve_credentials: parse one header, removing it upstream when asked to. */
function retrieve(ctx: RequestContext, conf: CompiledBasicAuth, header: string): GivenCredentials | null {
  const given = parseBasic(pdk.request.getHeader(ctx, header));
  if (conf.hideCredentials) pdk.serviceRequest.clearHeader(ctx, header);
  return given;
}

function passwordMatches(stored: unknown, consumerId: string, password: string): boolean {
  if (typeof stored !== 'string') return false;
  const a = Buffer.from(hashBasicAuthPassword(consumerId, password), 'utf8');
  const b = Buffer.from(stored, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** null when authenticated; otherwise the failure message. */
function authenticate(ctx: RequestContext, conf: CompiledBasicAuth): string | null {
  if (pdk.request.getHeader(ctx, 'authorization') === undefined && pdk.request.getHeader(ctx, 'proxy-authorization') === undefined) return UNAUTHORIZED;
  let given = retrieve(ctx, conf, 'proxy-authorization');
  let match = given !== null ? pdk.client.findCredential(ctx, 'basicauth_credentials', given.username) : null;
  if (match === null) {
    given = retrieve(ctx, conf, 'authorization');
    if (given === null) return UNAUTHORIZED;
    match = pdk.client.findCredential(ctx, 'basicauth_credentials', given.username);
  }
  if (match === null || given === null || !passwordMatches(match.credential.password, match.consumer.id, given.password)) return UNAUTHORIZED;
  const username = match.credential.username as string;
  setConsumer(ctx, match.consumer, { id: match.credential.id, identifier: username, consumer_id: match.consumer.id, username });
  return null;
}

function access(ctx: RequestContext, conf: CompiledBasicAuth): void {
  // Kong: with anonymous configured, a credential from an earlier auth plugin means we are done (logical OR).
  if (conf.anonymous !== null && pdk.client.getCredential(ctx) !== null) return;
  const failure = authenticate(ctx, conf);
  if (failure === null) return;
  failOrAnonymous(ctx, conf.anonymous, () => pdk.response.error(ctx, 401, failure, { 'www-authenticate': conf.challenge }));
}

export const basicAuth: PluginModule<BasicAuthConfig, CompiledBasicAuth> = {
  name: 'basic-auth',
  version: VERSION,
  priority: 1100,
  // Kong: consumer = typedefs.no_consumer
  scopes: { consumer: false, route: true, service: true },
  protocols: ['grpc', 'grpcs', 'http', 'https', 'ws', 'wss'],
  schema,
  compile(config) {
    return Object.freeze({
      anonymous: config.anonymous === '' || config.anonymous === null ? null : config.anonymous,
      hideCredentials: config.hide_credentials,
      challenge: `Basic realm="${config.realm}"`,
    });
  },
  access,
};

export default basicAuth;
