/**
 * key-auth (Kong's plugin of the same name, kong/plugins/key-auth/handler.lua,
 * Kong Gateway 3.x): authenticate a request by an API key stored as a
 * consumer's `keyauth_credentials`.
 *
 * Where the key is looked for, for each name of `key_names` in turn: the
 * request header (key_in_header), the query argument (key_in_query), the form
 * or JSON body argument (key_in_body). The first string found is the key;
 * the same name given twice is "Duplicate API key found".
 *
 * Outcomes, as Kong:
 *  - no key: 401 "No API key found in request";
 *  - a key no credential holds (or one past its ttl): 401 "Invalid authentication credentials";
 *    every 401 carries `WWW-Authenticate: Key realm="<realm or kong>"`;
 *  - a valid key: the consumer and credential are recorded
 *    (kong.client.authenticate) and the upstream receives X-Consumer-ID,
 *    X-Consumer-Custom-ID, X-Consumer-Username, X-Credential-Identifier —
 *    each one set from the consumer or cleared, and X-Anonymous-Consumer
 *    cleared — so a client can never pose as a consumer with its own headers;
 *  - `anonymous` set: a failed authentication proceeds as that consumer
 *    (X-Anonymous-Consumer: true), and when an earlier, higher-priority
 *    authentication plugin already established a credential this plugin does
 *    nothing (Kong's logical OR between authentication plugins).
 * The key itself is never logged, nor kept on the request context.
 */
import type { Credential, RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { isUuid } from '../../schema/checks.ts';
import type { ConsumerEntity } from '../../schema/entities/types.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { hideFromBody, hideFromQuery } from './hide.ts';
import { schema, type KeyAuthConfig } from './schema.ts';

const NO_KEY = 'No API key found in request';
const INVALID = 'Invalid authentication credentials';
const DUPLICATE = 'Duplicate API key found';

/** Kong's constants.HEADERS, lower-case as the PDK wants them. */
const H_CONSUMER_ID = 'x-consumer-id';
const H_CONSUMER_CUSTOM_ID = 'x-consumer-custom-id';
const H_CONSUMER_USERNAME = 'x-consumer-username';
const H_CREDENTIAL_IDENTIFIER = 'x-credential-identifier';
const H_ANONYMOUS = 'x-anonymous-consumer';

export interface CompiledKeyAuth {
  /** Header names lower-cased (node lower-cases request headers); query and body names as configured. */
  readonly keyNames: ReadonlyArray<{ name: string; header: string }>;
  readonly hideCredentials: boolean;
  readonly anonymous: string | null;
  readonly inHeader: boolean;
  readonly inQuery: boolean;
  readonly inBody: boolean;
  readonly runOnPreflight: boolean;
  /** The WWW-Authenticate value of every 401. */
  readonly challenge: string;
}

/** Kong's set_consumer: every identity header is set from this consumer or cleared. */
function setConsumer(ctx: RequestContext, consumer: ConsumerEntity, credential: Credential | null): void {
  pdk.client.authenticate(ctx, consumer, credential);
  const set = (name: string, value: string | null | undefined) =>
    value !== null && value !== undefined ? pdk.serviceRequest.setHeader(ctx, name, value) : pdk.serviceRequest.clearHeader(ctx, name);
  set(H_CONSUMER_ID, consumer.id);
  set(H_CONSUMER_CUSTOM_ID, consumer.custom_id);
  set(H_CONSUMER_USERNAME, consumer.username);
  set(H_CREDENTIAL_IDENTIFIER, credential?.id);
  set(H_ANONYMOUS, credential === null ? 'true' : null);
}

type Found = { key: string } | { error: string };

/** The key as the request carries it, or why there is none. */
async function findKey(ctx: RequestContext, conf: CompiledKeyAuth): Promise<Found | null> {
  let body: Record<string, unknown> | null | undefined;
  for (const { name, header } of conf.keyNames) {
    let values: unknown[] = [];
    let where: 'header' | 'query' | 'body' | null = null;
    if (conf.inHeader) {
      values = pdk.request.getHeaderValues(ctx, header);
      if (values.length > 0) where = 'header';
    }
    if (where === null && conf.inQuery) {
      values = pdk.request.getQuery(ctx).getAll(name);
      if (values.length > 0) where = 'query';
    }
    if (where === null && conf.inBody) {
      if (body === undefined) body = await readBody(ctx);
      const v = body?.[name];
      if (v !== undefined && v !== null) {
        values = Array.isArray(v) ? v : [v];
        where = 'body';
      }
    }
    if (where === null) continue;
    if (where !== 'body') pdk.log.markSecret(ctx, name); // the logging plugins never log its value
    if (values.length > 1) return { error: DUPLICATE };
    const key = values[0];
    if (typeof key !== 'string') continue;
    if (conf.hideCredentials) {
      pdk.serviceRequest.clearHeader(ctx, header);
      hideFromQuery(ctx, name);
      if (conf.inBody) hideFromBody(ctx, name);
    }
    return { key };
  }
  return null;
}

async function readBody(ctx: RequestContext): Promise<Record<string, unknown> | null> {
  try {
    return await pdk.request.getBodyArgs(ctx);
  } catch {
    // Kong: "Cannot process request body" — the key is then looked for elsewhere
    return null;
  }
}

function anonymousConsumer(ctx: RequestContext, anonymous: string): ConsumerEntity | null {
  return (isUuid(anonymous) ? pdk.client.loadConsumer(ctx, 'id', anonymous) : null) ?? pdk.client.loadConsumer(ctx, 'username', anonymous);
}

/** null when authenticated; otherwise the failure message. */
async function authenticate(ctx: RequestContext, conf: CompiledKeyAuth): Promise<string | null> {
  const found = await findKey(ctx, conf);
  if (found === null) return NO_KEY;
  if ('error' in found) return found.error;
  if (found.key === '') return NO_KEY;
  const match = pdk.client.findKeyAuthCredential(ctx, found.key);
  if (match === null) return INVALID;
  setConsumer(ctx, match.consumer, { id: match.credential.id, identifier: match.credential.id, consumer_id: match.consumer.id });
  return null;
}

async function access(ctx: RequestContext, conf: CompiledKeyAuth): Promise<void> {
  if (!conf.runOnPreflight && ctx.method === 'OPTIONS') return;
  // Kong: with anonymous configured, a credential from an earlier auth plugin means we are done (logical OR).
  if (conf.anonymous !== null && pdk.client.getCredential(ctx) !== null) return;

  const failure = await authenticate(ctx, conf);
  if (failure === null) return;
  if (conf.anonymous === null) {
    pdk.response.error(ctx, 401, failure, { 'www-authenticate': conf.challenge });
    return;
  }
  const consumer = anonymousConsumer(ctx, conf.anonymous);
  if (consumer === null) {
    // Kong: "anonymous consumer <x> is configured but doesn't exist" (500)
    pdk.response.error(ctx, 500, `anonymous consumer ${conf.anonymous} is configured but doesn't exist`);
    return;
  }
  setConsumer(ctx, consumer, null);
}

export const keyAuth: PluginModule<KeyAuthConfig, CompiledKeyAuth> = {
  name: 'key-auth',
  version: VERSION,
  priority: 1250,
  // Kong: consumer = typedefs.no_consumer
  scopes: { consumer: false, route: true, service: true },
  protocols: ['grpc', 'grpcs', 'http', 'https', 'ws', 'wss'],
  schema,
  compile(config) {
    const realm = config.realm ?? 'kong';
    return Object.freeze({
      keyNames: Object.freeze(config.key_names.map((name) => ({ name, header: name.toLowerCase() }))),
      hideCredentials: config.hide_credentials,
      anonymous: config.anonymous === '' ? null : config.anonymous,
      inHeader: config.key_in_header,
      inQuery: config.key_in_query,
      inBody: config.key_in_body,
      runOnPreflight: config.run_on_preflight,
      challenge: `Key realm="${realm}"`,
    });
  },
  access,
};

export default keyAuth;
