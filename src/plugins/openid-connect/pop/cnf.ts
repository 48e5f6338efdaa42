/**
 * The token's confirmation claim (RFC 7800 `cnf`), from its JWT claims or its
 * introspection response: DPoP binds with `jkt` (RFC 9449), mutual TLS with
 * `x5t#S256` (RFC 8705).
 */

/** `cnf[member]` when it is a non-empty string, else null (the token is not bound that way). */
export function confirmation(claims: Record<string, unknown> | null, member: 'jkt' | 'x5t#S256'): string | null {
  const cnf = claims?.cnf;
  if (cnf === null || typeof cnf !== 'object') return null;
  const v = (cnf as Record<string, unknown>)[member];
  return typeof v === 'string' && v !== '' ? v : null;
}
