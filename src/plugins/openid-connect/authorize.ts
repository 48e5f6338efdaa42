/**
 * Authorization: may this (already authenticated) token pass?
 *
 * Kong's semantics for `scopes_required`, `audience_required`,
 * `groups_required`, `roles_required` (and `issuers_allowed`): each list
 * entry is a space-separated set of values that must ALL be present; the
 * entries are alternatives (any one satisfied entry passes). So
 * `["openid email", "admin"]` means (openid AND email) OR admin.
 * Values come from the configured claim path of the introspection response
 * when there is one, else of the access token; a string claim is split on
 * whitespace, an array taken element-wise (see claims.ts).
 *
 * Failure of `issuers_allowed` is a 401 (the token is not ours); the others
 * are 403 with Kong's log lines, e.g.
 * `required scopes were not found [ openid, profile ]` (the values found).
 * `claims_forbidden`: a token carrying any of these top-level claims is 403.
 */
import { claimWords, findClaim } from './claims.ts';
import { forbidden, unauthorized, type Rejection } from './errors.ts';

/** One requirement: `name` for the log, the claim path, the alternatives (each a set of words). */
export interface Requirement {
  readonly name: 'issuers' | 'scopes' | 'audience' | 'groups' | 'roles';
  readonly claim: readonly string[];
  readonly alternatives: ReadonlyArray<ReadonlySet<string>>;
  readonly status: 401 | 403;
}

export interface AuthzPlan {
  /** In Kong's order: issuers, scopes, audience, groups, roles. */
  readonly requirements: readonly Requirement[];
  readonly claimsForbidden: readonly string[];
}

function requirement(name: Requirement['name'], claim: readonly string[], required: readonly string[] | null, status: 401 | 403): Requirement | null {
  if (required === null || required.length === 0) return null;
  const alternatives = required.map((entry) => new Set(entry.split(/\s+/).filter((w) => w !== '')));
  return Object.freeze({ name, claim: Object.freeze([...claim]), alternatives: Object.freeze(alternatives), status });
}

export function compileAuthz(c: {
  issuers_allowed: string[] | null;
  scopes_required: string[] | null;
  scopes_claim: string[];
  audience_required: string[] | null;
  audience_claim: string[];
  groups_required: string[] | null;
  groups_claim: string[];
  roles_required: string[] | null;
  roles_claim: string[];
  claims_forbidden: string[] | null;
}): AuthzPlan {
  const reqs = [
    requirement('issuers', ['iss'], c.issuers_allowed, 401),
    requirement('scopes', c.scopes_claim, c.scopes_required, 403),
    requirement('audience', c.audience_claim, c.audience_required, 403),
    requirement('groups', c.groups_claim, c.groups_required, 403),
    requirement('roles', c.roles_claim, c.roles_required, 403),
  ].filter((r): r is Requirement => r !== null);
  return Object.freeze({ requirements: Object.freeze(reqs), claimsForbidden: Object.freeze([...(c.claims_forbidden ?? [])]) });
}

/** Does any alternative have all its words among `present`? */
export function satisfies(alternatives: ReadonlyArray<ReadonlySet<string>>, present: readonly string[]): boolean {
  for (const alt of alternatives) {
    let all = true;
    for (const w of alt) {
      if (!present.includes(w)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/**
 * Words of a claim, remembered per (claims object, path) when the claims are
 * frozen — a cached verification or session: the same scope string is not
 * split again on every request.
 */
const wordsMemo = new WeakMap<object, Map<readonly string[], readonly string[] | null>>();

function wordsOf(source: Record<string, unknown>, path: readonly string[]): readonly string[] | null {
  if (!Object.isFrozen(source)) return claimWords(findClaim(source, path));
  let m = wordsMemo.get(source);
  if (m === undefined) {
    m = new Map();
    wordsMemo.set(source, m);
  }
  let w = m.get(path);
  if (w === undefined) {
    const words = claimWords(findClaim(source, path));
    w = words === null ? null : Object.freeze(words);
    m.set(path, w);
  }
  return w;
}

/**
 * Check every requirement against the claim sources (introspection response
 * first, then the access token claims). Returns the first Rejection, or null.
 */
export function authorize(plan: AuthzPlan, introspection: Record<string, unknown> | null, accessClaims: Record<string, unknown> | null): Rejection | null {
  for (const r of plan.requirements) {
    let values: readonly string[] | null = null;
    if (introspection !== null) values = wordsOf(introspection, r.claim);
    if (values === null && accessClaims !== null) values = wordsOf(accessClaims, r.claim);
    if (values === null) {
      const reason = `${r.name} required but no ${r.name} found`;
      return r.status === 401 ? unauthorized(reason) : forbidden(reason);
    }
    if (!satisfies(r.alternatives, values)) {
      const reason = `required ${r.name} were not found [ ${values.join(', ')} ]`;
      return r.status === 401 ? unauthorized(reason) : forbidden(reason);
    }
  }
  if (plan.claimsForbidden.length > 0) {
    for (const claim of plan.claimsForbidden) {
      const inToken = (accessClaims !== null && accessClaims[claim] !== undefined) || (introspection !== null && introspection[claim] !== undefined);
      if (inToken) return forbidden(`forbidden claim '${claim}' was found`);
    }
  }
  return null;
}
