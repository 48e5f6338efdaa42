/**
 * Which TLS handshakes ask the client for a certificate (Kong's certificate
 * phase, kong/tls/plugins/sni_filter.lua + certificate.lua in Kong 3.9).
 *
 * A plugin whose module sets `requestsClientCertificate` (tls-handshake-
 * modifier) makes the TLS listener request — never require, never verify — a
 * client certificate for the SNIs its scope covers. The handshake comes before
 * routing, so the scope is turned into SNIs the way Kong does it:
 *
 * - a global (or consumer-only) plugin: every handshake (`*`);
 * - on a service: the `snis` of each of the service's routes;
 * - on a route: the route's `snis`;
 * - a route without `snis`: every handshake (`*`) — it may be reached by any name.
 *
 * Matching a server name, in Kong's order: exact, then a leftmost wildcard
 * (`*.example.com`), then a rightmost one (`example.*`), then `*`. A client
 * that sends no SNI gets the `*` decision.
 *
 * The request itself is made by server.ts in the SNICallback (per connection,
 * through the socket's native handle) — see requestClientCertificate below.
 */
import type { TLSSocket } from 'node:tls';
import type { PluginEntity, RouteEntity } from '../../schema/entities/types.ts';

export type ClientCertDecision = (servername: string | null) => boolean;

const NEVER: ClientCertDecision = () => false;
const ALWAYS: ClientCertDecision = () => true;

/**
 * The decision for one configuration. `requesting`: enabled plugin entities
 * whose module requests a client certificate.
 */
export function buildClientCertDecision(requesting: readonly PluginEntity[], routes: readonly RouteEntity[]): ClientCertDecision {
  if (requesting.length === 0) return NEVER;
  const exact = new Set<string>();
  const suffixes: string[] = []; // from `*.example.com`: ".example.com"
  const prefixes: string[] = []; // from `example.*`: "example."
  let all = false;
  const addRoute = (route: RouteEntity): void => {
    if (route.snis === null || route.snis.length === 0) {
      all = true;
      return;
    }
    for (const raw of route.snis) {
      const sni = raw.toLowerCase();
      const star = sni.indexOf('*');
      if (star === 0) suffixes.push(sni.slice(1));
      else if (star === sni.length - 1) prefixes.push(sni.slice(0, -1));
      else exact.add(sni);
    }
  };
  for (const p of requesting) {
    if (p.service !== null) {
      for (const r of routes) if (r.service?.id === p.service.id) addRoute(r);
    } else if (p.route !== null) {
      const r = routes.find((x) => x.id === p.route!.id);
      if (r !== undefined) addRoute(r);
    } else {
      all = true;
    }
    if (all) return ALWAYS;
  }
  if (exact.size === 0 && suffixes.length === 0 && prefixes.length === 0) return NEVER;
  return (servername) => {
    if (servername === null || servername === '') return false;
    const name = servername.toLowerCase();
    if (exact.has(name)) return true;
    for (const s of suffixes) if (name.endsWith(s)) return true;
    for (const p of prefixes) if (name.startsWith(p)) return true;
    return false;
  };
}

/** The native handle's verify-mode switch (Node's TLSWrap; not a public API — see below). */
interface VerifyModeHandle {
  setVerifyMode(requestCert: boolean, rejectUnauthorized: boolean): void;
}

/**
 * Ask (or stop asking) this connection's client for a certificate, without
 * verifying it: OpenSSL's SSL_set_verify on this one connection, as Kong's
 * `kong.client.tls.request_client_certificate()` does in the certificate
 * phase. Called from the SNICallback, i.e. while the ClientHello is being
 * processed and before the server sends its CertificateRequest, so it takes
 * effect on this handshake (TLS 1.2 and 1.3; test/integration/tls-client-cert.test.ts).
 *
 * Node has no public per-connection switch (`requestCert` is a server option;
 * `renegotiate` is TLS 1.2 only and costs a round trip): this uses the
 * TLSSocket's native handle, the call Node itself makes when the socket is
 * created. False when that handle is not there (another Node): the caller
 * logs it once; the consumer plugin then sees no certificate and refuses.
 */
export function requestClientCertificate(socket: TLSSocket, request: boolean): boolean {
  const handle = (socket as TLSSocket & { _handle?: Partial<VerifyModeHandle> | null })._handle;
  if (handle === null || handle === undefined || typeof handle.setVerifyMode !== 'function') return false;
  handle.setVerifyMode(request, false);
  return true;
}
