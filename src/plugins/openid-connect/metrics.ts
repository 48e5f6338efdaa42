/**
 * What the openid-connect plugin tells Prometheus beyond Kong's exporter
 * (docs/plugins/prometheus.md, "Beyond Kong"): every authentication decision
 * by outcome and reason, per service and route, and every request to the
 * identity provider (discovery, JWKS, token, introspection, userinfo,
 * revocation) with its outcome and latency. Served on /metrics with Kong's
 * families, whether or not a prometheus plugin is configured (they are
 * Portcullis' own, like portcullis_openid_connect_idp_failures_total).
 */
import { defaultMetrics, LabelledCounter, LabelledHistogram } from '../../core/metrics.ts';
import type { RequestContext } from '../../core/context.ts';
import { TOKEN_EXPIRED_DESCRIPTION, type Rejection } from './errors.ts';

/** allow: proxied with an identity · anonymous: proxied as the anonymous consumer after a failed check ·
 *  deny: 401/403 (or its configured redirect) · error: the plugin could not decide (500) ·
 *  redirect: answered on the way to a login (authorization code flow, login action) · logout. */
export type DecisionOutcome = 'allow' | 'anonymous' | 'deny' | 'error' | 'redirect' | 'logout';

const registry = defaultMetrics().registry;

const decisions = new LabelledCounter(
  registry,
  'portcullis_oidc_auth_decisions_total',
  'Authentication decisions of the openid-connect plugin per service/route, by outcome (allow, anonymous, deny, error, redirect, logout), status code sent and reason',
  ['service', 'route', 'outcome', 'code', 'reason'],
);

const idpRequests = new LabelledCounter(
  registry,
  'portcullis_oidc_idp_requests_total',
  'Requests of the openid-connect plugin to the identity provider, by endpoint (discovery, jwks, token, introspection, userinfo, revocation), IdP origin and outcome (2xx, 4xx, 5xx, …, error, timeout)',
  ['endpoint', 'idp', 'outcome'],
);

/** Milliseconds; from a cached LAN IdP (a few ms) to a timeout (Kong's default timeout is 10 s). */
const IDP_LATENCY_BUCKETS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

const idpLatency = new LabelledHistogram(
  registry,
  'portcullis_oidc_idp_request_duration_ms',
  'Latency of the openid-connect plugin\'s requests to the identity provider (until the whole response was read), by endpoint and IdP origin',
  ['endpoint', 'idp'],
  IDP_LATENCY_BUCKETS,
);

/** One decision on one request; labels as Kong's exporter names services (name, else host) and routes (name, else id). */
export function recordDecision(ctx: RequestContext, outcome: DecisionOutcome, code: number, reason: string): void {
  const service = ctx.service === null ? '' : (ctx.service.name ?? ctx.service.host);
  const route = ctx.route === null ? '' : (ctx.route.name ?? ctx.route.id);
  decisions.inc([service, route, outcome, code === 0 ? '' : String(code), reason]);
}

/** One request to the IdP: `status` 0 for a transport failure (`timedOut` when it timed out). */
export function recordIdpRequest(endpoint: string, idp: string, status: number, timedOut: boolean, ms: number): void {
  const outcome = status === 0 ? (timedOut ? 'timeout' : 'error') : `${Math.floor(status / 100)}xx`;
  idpRequests.inc([endpoint, idp, outcome]);
  idpLatency.observe([endpoint, idp], ms);
}

/**
 * The reason label of a Rejection: a small fixed set, from Kong's fixed log
 * wordings (reasons carry claim values; labels must not).
 */
export function rejectionKind(r: Rejection): string {
  const reason = r.reason;
  if (r.status === 403) {
    if (reason.startsWith('kong consumer was not found')) return 'consumer_not_found';
    if (reason.startsWith('forbidden claim')) return 'forbidden_claim';
    return 'insufficient_scope';
  }
  if (reason === 'no suitable authorization credentials were provided' || reason === 'access token was not found') return 'no_credential';
  if (r.description === TOKEN_EXPIRED_DESCRIPTION) return 'token_expired';
  if (reason.startsWith('required ') || reason.includes(' required but no ')) return 'insufficient_scope';
  if (reason === 'multiple authorization headers were provided') return 'invalid_request';
  if (reason.startsWith('authorization ')) return 'authorization_code_failed';
  if (reason.startsWith('jwt session')) return 'invalid_session_claim';
  return 'invalid_token';
}
