/**
 * Sender-constrained tokens: DPoP (RFC 9449, ./dpop.ts). Compiled once per
 * configuration; checked after authentication, before authorization, for
 * the methods where the caller presents the token itself (bearer,
 * introspection).
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
import { ReplayCache } from './replay.ts';

export interface PossessionPolicy {
  readonly dpop: DpopPolicy | null;
  /** Methods whose tokens are checked. */
  readonly methods: ReadonlySet<string>;
}

const CHECKED = new Set(['bearer', 'introspection']);
export const POP_COMPATIBLE_METHODS = ['bearer', 'introspection', 'session'] as const;

export function compilePossession(c: OidcConfig, gatewaySecret: string): PossessionPolicy | null {
  if (c.proof_of_possession_dpop === 'off') return null;
  const session = sessionOptionsFromKong(c as unknown as Record<string, unknown>, gatewaySecret);
  const replay = new ReplayCache('dpop', c.session_storage === 'redis' ? session.redis ?? null : null);
  return Object.freeze({ dpop: compileDpop(c, session.secret, replay), methods: CHECKED });
}

export interface Presented {
  readonly token: string;
  readonly claims: Record<string, unknown> | null;
  readonly viaDpopScheme: boolean;
  readonly url: string;
}

export async function checkPossession(ctx: RequestContext, p: PossessionPolicy, t: Presented): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  if (p.dpop !== null) await checkDpop(ctx, p.dpop, t.token, t.claims, t.viaDpopScheme, t.url, now);
}

/** Schema check: auth methods proof of possession cannot cover (with validation on). */
export function checkPossessionConfig(c: OidcConfig): Record<string, string> {
  const on = c.proof_of_possession_dpop !== 'off';
  if (!on || !c.proof_of_possession_auth_methods_validation) return {};
  const bad = (c.auth_methods ?? []).filter((m) => !(POP_COMPATIBLE_METHODS as readonly string[]).includes(m));
  return bad.length === 0 ? {} : { auth_methods: `proof of possession can only check ${POP_COMPATIBLE_METHODS.join(', ')}; remove ${bad.join(', ')} or set proof_of_possession_auth_methods_validation to false` };
}
