/**
 * Mutual-TLS certificate-bound access tokens (RFC 8705 §3): the token carries
 * `cnf["x5t#S256"]`, the base64url SHA-256 of the DER certificate the client
 * held when the token was issued; the client must present that certificate on
 * the TLS connection the request comes over.
 *
 * Kong's option: `proof_of_possession_mtls` `off` | `strict` (every token —
 * bearer, introspected, and a session granted with one of those — must be
 * bound and match) | `optional` (only tokens with `cnf.x5t#S256` are checked).
 * The certificate is the one the client presented at the handshake (asked for
 * by tls-handshake-modifier); it is not verified against any CA here, as in
 * Kong: the binding to the token is the proof.
 *
 * Every failure — no certificate (plain HTTP, none sent), another
 * certificate, an unbound token in strict mode — is Kong's invalid-token
 * answer: 401 `WWW-Authenticate: Bearer realm="…", error="invalid_token"`,
 * 0 upstream hits.
 */
import { Buffer } from 'node:buffer';
import { hash, timingSafeEqual } from 'node:crypto';
import type { RequestContext } from '../../../core/context.ts';
import * as pdk from '../../../pdk/index.ts';
import { unauthorized } from '../errors.ts';

export type MtlsMode = 'optional' | 'strict';

/** RFC 8705 §3.1: base64url(SHA-256(DER)), no padding. */
export function certificateThumbprint(der: Buffer): string {
  return hash('sha256', der, 'base64url');
}

function sameThumbprint(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Check the binding of a token whose confirmation is `x5t` (null: unbound).
 * Resolves with the thumbprint the request was proven against (null when an
 * unbound token passed in optional mode); throws a Rejection otherwise.
 */
export function checkMtls(ctx: RequestContext, mode: MtlsMode, x5t: string | null): string | null {
  if (x5t === null) {
    if (mode === 'strict') throw unauthorized('access token is not certificate-bound (cnf.x5t#S256 missing)');
    return null; // optional: an unbound token is not checked
  }
  const der = pdk.client.getTlsClientCertificate(ctx);
  if (der === null) throw unauthorized('certificate-bound access token without a TLS client certificate on the connection');
  if (!sameThumbprint(certificateThumbprint(der), x5t)) throw unauthorized('TLS client certificate does not match the access token binding (cnf.x5t#S256)');
  return x5t;
}
