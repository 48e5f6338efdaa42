/**
 * Protocols Kong knows that Portcullis does not serve yet (gRPC, and the
 * stream subsystem: tcp, tls, udp, tls_passthrough). A route or service using
 * one would validate and never be served, so it is refused at validation,
 * naming the value (ARCHITECTURE principle 13), until it is implemented.
 * Plugins' `protocols` keep Kong's defaults (grpc included): there they only
 * narrow where a plugin runs, which is harmless.
 */
import { elementError } from '../errors.ts';
import type { FieldErrors } from './definition.ts';

/** What the proxy listeners serve: HTTP/1.1 (plain and TLS) and WebSocket over them. */
export const SERVED_PROTOCOLS = ['http', 'https', 'ws', 'wss'] as const;

const served = new Set<string>(SERVED_PROTOCOLS);

export function notServedMessage(protocol: string): string {
  return `'${protocol}' is not served by Portcullis yet (served: ${SERVED_PROTOCOLS.join(', ')})`;
}

/** A route's `protocols`: each unserved element gets its message at its position. */
export function refuseUnservedProtocols(errors: FieldErrors, value: unknown): void {
  if (errors.protocols !== undefined || !Array.isArray(value)) return;
  let out: unknown[] | null = null;
  value.forEach((p, i) => {
    if (typeof p !== 'string' || served.has(p)) return;
    const el = elementError(i, notServedMessage(p));
    out = out === null ? el : Array.from({ length: Math.max(out.length, el.length) }, (_, j) => out![j] ?? el[j] ?? null);
  });
  if (out !== null) errors.protocols = out;
}

/** A service's `protocol`. */
export function refuseUnservedProtocol(errors: FieldErrors, value: unknown): void {
  if (errors.protocol !== undefined || typeof value !== 'string' || served.has(value)) return;
  errors.protocol = notServedMessage(value);
}
