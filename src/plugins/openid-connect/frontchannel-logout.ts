/**
 * OpenID Connect Front-Channel Logout 1.0: when the user logs out at the IdP,
 * the IdP's logout page loads the RP's front-channel logout URI in an
 * (invisible) iframe — here a GET on any path of the route that ends with
 * `frontchannel_logout_uri_suffix` (Portcullis' own option; Kong has none) —
 * with `iss` and `sid` query parameters (§2, §3).
 *
 * What ends, on every node (the same records as back-channel logout,
 * ./session/logouts.ts: node shared state, Redis or PostgreSQL fan-out):
 * - the IdP session `sid` names, when `iss` is the configured issuer: every
 *   gateway session created before now with that ID token `sid`;
 * - the gateway session of the cookie the request carries, if any (its `sid`;
 *   a session without one is erased). A cross-site iframe (IdP and gateway on
 *   different sites) does not carry SameSite=Lax or Strict cookies — the
 *   default is Lax — so the `sid` parameter is what ends the session then.
 *
 * The request carries no proof (§4: the RP cannot authenticate it); `sid`
 * values are the IdP's unguessable session ids. Answers: 200 with
 * `Cache-Control: no-store` and a tiny HTML page — also for an `iss` that is
 * not the configured issuer (nothing ended: another IdP's call is not ours
 * to refuse loudly); 400 (same page) when `iss` and `sid` are not both
 * present and `frontchannel_logout_session_required` says they must be, or
 * when only one of them is (§2: "If either is included, both MUST be");
 * 500 when the fan-out could not be made. Never reaches the upstream.
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { issuerIdentifierFor, type IssuerPlan } from './discovery.ts';
import { providerNow } from './provider.ts';
import type { LogoutRegistry, OidcSessions } from './session/index.ts';

export interface FrontchannelPlan {
  readonly suffix: string;
  /** frontchannel_logout_session_required: `iss` and `sid` must come with every request. */
  readonly sessionRequired: boolean;
  readonly registry: LogoutRegistry;
  /** The key sessions are recorded under (the configured issuer). */
  readonly issuer: string;
}

export function compileFrontchannel(c: { frontchannel_logout_uri_suffix: string | null; frontchannel_logout_session_required: boolean; issuer: string }, registry: LogoutRegistry | null): FrontchannelPlan | null {
  if (c.frontchannel_logout_uri_suffix === null || registry === null) return null;
  return Object.freeze({ suffix: c.frontchannel_logout_uri_suffix, sessionRequired: c.frontchannel_logout_session_required, registry, issuer: c.issuer });
}

export function isFrontchannelLogout(ctx: RequestContext, plan: FrontchannelPlan): boolean {
  return ctx.method === 'GET' && ctx.rawPath.endsWith(plan.suffix);
}

/**
 * Longest `sid` accepted. The request is unauthenticated and each one writes a record that is kept
 * (and, across nodes, stored in Redis or PostgreSQL) for the session lifetime: IdP session ids are
 * far shorter, and a bound keeps a flood of calls from writing large records.
 */
const MAX_SID_LENGTH = 255;

const HEADERS = { 'cache-control': 'no-store', pragma: 'no-cache', 'content-type': 'text/html; charset=utf-8' };

function page(title: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${title}</body></html>\n`;
}

/** Is `iss` the issuer this plugin trusts (as configured, or as discovered)? */
function isOurIssuer(iss: string, issuer: IssuerPlan): boolean {
  const ours = new Set([issuer.configured, issuerIdentifierFor(issuer.configured)]);
  const discovered = providerNow(issuer)?.issuer;
  if (discovered !== undefined) ours.add(discovered);
  return ours.has(iss) || ours.has(iss.replace(/\/+$/, ''));
}

export interface FrontchannelDeps {
  readonly plan: FrontchannelPlan;
  readonly issuer: IssuerPlan;
  readonly sessions: OidcSessions;
}

/** Handle the IdP's iframe request; always answers. Returns the Set-Cookie values that erase the cookie's session. */
export async function frontchannelLogout(ctx: RequestContext, d: FrontchannelDeps, log: { info: (o: object, m: string) => void; error: (o: object, m: string) => void }): Promise<string[]> {
  const q = pdk.request.getQuery(ctx);
  const iss = q.get('iss');
  const sid = q.get('sid');
  if ((iss === null) !== (sid === null) || (d.plan.sessionRequired && (iss === null || sid === null)) || iss === '' || sid === '' || (sid !== null && sid.length > MAX_SID_LENGTH)) {
    log.info({ request_id: ctx.id }, '[openid-connect] front-channel logout refused: iss and sid must both be present (sid at most 255 characters)');
    pdk.response.exit(ctx, 400, page('Bad front-channel logout request'), HEADERS);
    return [];
  }
  if (iss !== null && !isOurIssuer(iss, d.issuer)) {
    log.info({ request_id: ctx.id }, '[openid-connect] front-channel logout ignored: iss is not the configured issuer');
    pdk.response.exit(ctx, 200, page('Logged out'), HEADERS);
    return [];
  }
  try {
    const now = Math.floor(Date.now() / 1000);
    const ttl = d.sessions.logoutTtl();
    const handle = await d.sessions.open(ctx);
    const cookieSid = handle.present && typeof handle.session?.data.sid === 'string' ? handle.session.data.sid : null;
    const sids = new Set([sid, cookieSid].filter((s): s is string => s !== null));
    for (const s of sids) await d.plan.registry.record({ issuer: d.plan.issuer, sid: s, sub: null, at: now, ttl });
    // The cookie's own session goes in any case (a session whose ID token had no sid included).
    const cookies = handle.present ? await d.sessions.destroy(ctx, handle) : [];
    log.info({ request_id: ctx.id, sid: sid !== null, cookie: handle.present, fanout: d.plan.registry.fanout }, '[openid-connect] front-channel logout: sessions ended');
    pdk.response.exit(ctx, 200, page('Logged out'), HEADERS);
    return cookies;
  } catch (err) {
    log.error({ request_id: ctx.id, err: (err as Error).message }, '[openid-connect] front-channel logout could not be processed');
    pdk.response.exit(ctx, 500, page('Logout failed'), HEADERS);
    return [];
  }
}
