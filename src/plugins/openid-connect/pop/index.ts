/**
 * Sender-constrained tokens: DPoP (RFC 9449, ./dpop.ts) and mutual-TLS
 * certificate-bound tokens (RFC 8705, ./mtls.ts). Compiled once per
 * configuration; checked after authentication, before authorization, for
 * the methods where the caller presents the token itself (bearer,
 * introspection). mTLS also covers sessions granted with those (Kong): the
 * session keeps the thumbprint its token was bound to (SessionData.x5t) and
 * every request on it must come with that certificate. DPoP does not ask
 * sessions for proofs.
 *
 * `proof_of_possession_auth_methods_validation` (Kong, default true): with
 * proof of possession on, `auth_methods` may only hold methods it can check
 * (bearer, introspection, session — a session's cookie is its own credential,
 * so sessions are not asked for proofs); false lets other methods through
 * unchecked, as Kong does.
 */
import type { RequestContext } from '../../../core/context.ts';
import type { OidcConfig } from '../schema.ts';
import { sessionOptionsFromKong } from '../session/index.ts';
import { checkDpop, compileDpop, type DpopPolicy } from './dpop.ts';
import { checkMtls, type MtlsMode } from './mtls.ts';
import { confirmation } from './cnf.ts';
import { ReplayCache } from './replay.ts';

export interface PossessionPolicy {
  readonly dpop: DpopPolicy | null;
  readonly mtls: MtlsMode | null;
  /** Methods whose tokens are checked. */
  readonly methods: ReadonlySet<string>;
}

const CHECKED = new Set(['bearer', 'introspection']);
export const POP_COMPATIBLE_METHODS = ['bearer', 'introspection', 'session'] as const;

export function compilePossession(c: OidcConfig, gatewaySecret: string): PossessionPolicy | null {
  const mtls = c.proof_of_possession_mtls === 'off' ? null : (c.proof_of_possession_mtls as MtlsMode);
  let dpop: DpopPolicy | null = null;
  if (c.proof_of_possession_dpop !== 'off') {
    const session = sessionOptionsFromKong(c as unknown as Record<string, unknown>, gatewaySecret);
    const replay = new ReplayCache('dpop', c.session_storage === 'redis' ? session.redis ?? null : null);
    dpop = compileDpop(c, session.secret, replay);
  }
  if (dpop === null && mtls === null) return null;
  return Object.freeze({ dpop, mtls, methods: CHECKED });
}

export interface Presented {
  readonly token: string;
  readonly claims: Record<string, unknown> | null;
  readonly viaDpopScheme: boolean;
  readonly url: string;
}

/**
 * Check a token the caller presented. Resolves with the certificate
 * thumbprint the token is bound to and was proven against (kept in the
 * session it may grant), or null; throws a Rejection otherwise.
 */
export async function checkPossession(ctx: RequestContext, p: PossessionPolicy, t: Presented): Promise<string | null> {
  const x5t = p.mtls === null ? null : checkMtls(ctx, p.mtls, confirmation(t.claims, 'x5t#S256'));
  if (p.dpop !== null) await checkDpop(ctx, p.dpop, t.token, t.claims, t.viaDpopScheme, t.url, Math.floor(Date.now() / 1000));
  return x5t;
}

/** A session granted with a certificate-bound token: the request must come with that certificate (Kong: strict and optional alike). */
export function checkSessionPossession(ctx: RequestContext, p: PossessionPolicy, x5t: string | null): void {
  if (p.mtls !== null && x5t !== null) checkMtls(ctx, 'optional', x5t);
}

/** Schema check: auth methods proof of possession cannot cover (with validation on). */
export function checkPossessionConfig(c: OidcConfig): Record<string, string> {
  const on = c.proof_of_possession_dpop !== 'off' || c.proof_of_possession_mtls !== 'off';
  if (!on || !c.proof_of_possession_auth_methods_validation) return {};
  const bad = (c.auth_methods ?? []).filter((m) => !(POP_COMPATIBLE_METHODS as readonly string[]).includes(m));
  return bad.length === 0 ? {} : { auth_methods: `proof of possession can only check ${POP_COMPATIBLE_METHODS.join(', ')}; remove ${bad.join(', ')} or set proof_of_possession_auth_methods_validation to false` };
}
