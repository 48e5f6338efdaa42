/**
 * "Failures are not decisions" (issue 3 §9, ARCHITECTURE principle 4): an
 * unreachable or misbehaving IdP is counted in a Prometheus counter and
 * logged at most once per burst per (issuer, endpoint), so an outage under
 * load produces one error line every BURST_WINDOW_MS with a count of what was
 * suppressed — not a flood that looks like an attack of bad tokens.
 */
import { Counter } from 'prom-client';
import type { Logger } from 'pino';
import { defaultMetrics } from '../../core/metrics.ts';
import type { IdpUnavailable } from './http.ts';

/** In the gateway's process-wide registry, so it is served with Kong's metrics. */
export const idpFailures = new Counter({
  name: 'portcullis_openid_connect_idp_failures_total',
  help: 'Requests the openid-connect plugin could not decide because the identity provider (discovery, JWKS, token, introspection, userinfo) failed',
  labelNames: ['endpoint'] as const,
  registers: [defaultMetrics().registry],
});

const BURST_WINDOW_MS = 10_000;

interface Burst {
  loggedAt: number;
  suppressed: number;
}

const bursts = new Map<string, Burst>();

/** Count a failure and log it unless one was logged for the same issuer+endpoint within the window. */
export function recordIdpFailure(log: Logger, issuer: string, failure: IdpUnavailable, now = Date.now()): void {
  idpFailures.inc({ endpoint: failure.endpoint });
  const key = `${issuer}\0${failure.endpoint}`;
  const burst = bursts.get(key);
  if (burst !== undefined && now - burst.loggedAt < BURST_WINDOW_MS) {
    burst.suppressed++;
    return;
  }
  const suppressed = burst?.suppressed ?? 0;
  bursts.set(key, { loggedAt: now, suppressed: 0 });
  log.error(
    { cause: failure.code, issuer, endpoint: failure.endpoint, status: failure.status || undefined, timed_out: failure.timedOut || undefined, suppressed: suppressed || undefined },
    `[openid-connect] identity provider unavailable: ${failure.message}`,
  );
}
