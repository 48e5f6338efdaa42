/**
 * tls-handshake-modifier (Kong Gateway Enterprise 3.0+): ask TLS clients for a
 * certificate so that other plugins on the request can use it — openid-connect
 * `proof_of_possession_mtls` (RFC 8705 certificate-bound tokens).
 *
 * Kong's only field: `tls_client_certificate`, `"REQUEST"` (the default and
 * the only value). The certificate is requested, never required and never
 * verified: a client without one still completes the handshake, and the
 * plugin that reads the certificate decides.
 *
 * It works in the handshake, before routing — so it has no request phase.
 * Its presence in a configuration is what counts (`requestsClientCertificate`):
 * the runtime turns its scope into SNIs like Kong (global → every handshake; a
 * route or a service's routes → their `snis`, or every handshake for a route
 * without `snis`), and the TLS listener asks per connection from its
 * SNICallback (src/core/proxy/client-cert.ts). Priority 997 as in Kong.
 */
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { schema, type TlsHandshakeModifierConfig } from './schema.ts';

export interface CompiledTlsHandshakeModifier {
  /** Ask for the client certificate (`tls_client_certificate: REQUEST`). */
  readonly request: boolean;
}

export const tlsHandshakeModifier: PluginModule<TlsHandshakeModifierConfig, CompiledTlsHandshakeModifier> = {
  name: 'tls-handshake-modifier',
  version: VERSION,
  priority: 997,
  schema,
  // Kong: consumers cannot be known during the handshake (no_consumer); https and grpcs (Kong also has the stream
  // subsystem's `tls`, which Portcullis does not serve).
  scopes: { consumer: false, route: true, service: true },
  protocols: ['grpcs', 'https'],
  compile(config) {
    return Object.freeze({ request: config.tls_client_certificate === 'REQUEST' });
  },
  requestsClientCertificate: (conf) => conf.request,
};

export default tlsHandshakeModifier;
