/**
 * OpenID Connect Back-Channel Logout 1.0: the IdP POSTs a `logout_token`
 * (form-encoded) to the RP's back-channel logout URI — here any path of the
 * route that ends with `backchannel_logout_uri_suffix` (Portcullis' own
 * option; Kong has none). The token is verified like an ID token (§2.6):
 * signature with the IdP's keys and allowed algorithms, `iss`, `aud`
 * containing a configured client id, `iat` (and `exp` when present, within
 * `leeway`), an `events` claim with
 * `http://schemas.openid.net/event/backchannel-logout`, a `sid` and/or a
 * `sub`, NO `nonce`, and a `jti` not seen before (replay cache, per node and
 * — with Redis — per cluster). Then every gateway session of that `sid` /
 * `sub` ends on this node and, with Redis or the node's PostgreSQL, on every
 * node (./session/logouts.ts).
 *
 * Answers (§2.8): 200 with `Cache-Control: no-store` when done; 400
 * `{"error":"invalid_request","error_description":…}` for a token that does
 * not verify; 500 when the check or the fan-out could not be made (IdP keys
 * unreachable, Redis or PostgreSQL down). Never reaches the upstream.
 */
import { Buffer } from 'node:buffer';
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import type { ClientPlan } from './clients.ts';
import { Rejection } from './errors.ts';
import { readBodyArgs } from './extract.ts';
import type { IssuerPlan } from './discovery.ts';
import { resolveProvider } from './provider.ts';
import { ReplayCache } from './pop/replay.ts';
import { LogoutRegistry, type OidcSessions, type RedisStoreOptions } from './session/index.ts';
import { verifyJwt, type JwtPolicy } from './validate/jwt.ts';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface BackchannelPlan {
  readonly suffix: string;
  readonly registry: LogoutRegistry;
  readonly replay: ReplayCache;
  /** The key sessions are recorded under (the configured issuer). */
  readonly issuer: string;
}

type LogoutConfig = { backchannel_logout_uri_suffix: string | null; frontchannel_logout_uri_suffix: string | null; session_storage: string | null };

/** The plugin's Redis when logout records go there (session_storage = redis), else null. */
function sharedRedis(c: LogoutConfig, redis: RedisStoreOptions | null): RedisStoreOptions | null {
  return c.session_storage === 'redis' ? redis : null;
}

/**
 * The logout records of a configuration with back- or front-channel logout (null without):
 * in the plugin's Redis when it has one, else the node's PostgreSQL when it has one, else per node.
 */
export function compileLogoutRegistry(c: LogoutConfig, redis: RedisStoreOptions | null): LogoutRegistry | null {
  if (c.backchannel_logout_uri_suffix === null && c.frontchannel_logout_uri_suffix === null) return null;
  return new LogoutRegistry(sharedRedis(c, redis));
}

export function compileBackchannel(c: LogoutConfig & { issuer: string }, redis: RedisStoreOptions | null, registry: LogoutRegistry | null): BackchannelPlan | null {
  if (c.backchannel_logout_uri_suffix === null || registry === null) return null;
  return Object.freeze({
    suffix: c.backchannel_logout_uri_suffix,
    registry,
    replay: new ReplayCache('backchannel-logout', sharedRedis(c, redis)),
    issuer: c.issuer,
  });
}

export function isBackchannelLogout(ctx: RequestContext, plan: BackchannelPlan): boolean {
  return ctx.method === 'POST' && ctx.rawPath.endsWith(plan.suffix);
}

class BadLogoutToken extends Error {}

function bad(description: string): never {
  throw new BadLogoutToken(description);
}

export interface BackchannelDeps {
  readonly plan: BackchannelPlan;
  readonly issuer: IssuerPlan;
  readonly jwt: JwtPolicy;
  readonly clients: ClientPlan;
  readonly sessions: OidcSessions;
}

/** Handle the IdP's call; always answers (200, 400 or 500). */
export async function backchannelLogout(ctx: RequestContext, d: BackchannelDeps, log: { notice?: (o: object, m: string) => void; info: (o: object, m: string) => void; error: (o: object, m: string) => void }): Promise<void> {
  const headers = { 'cache-control': 'no-store' };
  try {
    const args = await readBodyArgs(ctx);
    const token = args?.logout_token;
    if (typeof token !== 'string' || token === '') bad('logout_token is missing');
    const provider = await resolveProvider(d.issuer);
    let payload: Record<string, unknown>;
    try {
      payload = (await verifyJwt(token, d.jwt, provider, null)).payload as Record<string, unknown>;
    } catch (err) {
      if (err instanceof Rejection) bad(`logout_token does not verify (${err.reason})`);
      throw err;
    }
    const typ = (() => {
      try {
        return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')).typ as unknown;
      } catch {
        return undefined;
      }
    })();
    if (typ !== undefined && typ !== 'logout+jwt' && typ !== 'JWT') bad('logout_token typ is not logout+jwt');
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!d.clients.clients.some((c) => c.id !== null && auds.includes(c.id))) bad('logout_token aud is not a configured client id');
    if (typeof payload.iat !== 'number') bad('logout_token has no iat');
    const events = payload.events;
    if (events === null || typeof events !== 'object' || Array.isArray(events)) bad('logout_token has no events claim');
    const event = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
    if (event === null || typeof event !== 'object' || Array.isArray(event)) bad('logout_token events claim is not a back-channel logout');
    if ('nonce' in payload) bad('logout_token must not contain a nonce');
    const sid = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : null;
    const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : null;
    if (sid === null && sub === null) bad('logout_token has neither sid nor sub');
    if (typeof payload.jti !== 'string' || payload.jti === '') bad('logout_token has no jti');
    const now = Math.floor(Date.now() / 1000);
    const window = Math.max(typeof payload.exp === 'number' ? payload.exp - now : 0, 0) + 600;
    if (!(await d.plan.replay.firstUse(String(payload.iss), payload.jti, window, now))) bad('logout_token was replayed (jti already used)');

    await d.plan.registry.record({ issuer: d.plan.issuer, sid, sub, at: Math.max(now, payload.iat), ttl: d.sessions.logoutTtl() });
    log.info({ request_id: ctx.id, sid: sid !== null, sub: sub !== null, fanout: d.plan.registry.fanout }, '[openid-connect] back-channel logout: sessions ended');
    pdk.response.exit(ctx, 200, null, headers);
  } catch (err) {
    if (err instanceof BadLogoutToken) {
      log.info({ request_id: ctx.id }, `[openid-connect] back-channel logout refused: ${err.message}`);
      pdk.response.exit(ctx, 400, { error: 'invalid_request', error_description: err.message }, headers);
      return;
    }
    log.error({ request_id: ctx.id, err: (err as Error).message }, '[openid-connect] back-channel logout could not be processed');
    pdk.response.exit(ctx, 500, { error: 'server_error' }, headers);
  }
}
