/**
 * A route becomes one or more *candidates* — Kong's traditional_compatible
 * flavour splits a route with several paths into one sub-route per group of
 * paths (all regex paths together, prefix paths grouped by length:
 * kong/router/compat.lua `split_routes_and_services_by_path`), so that each
 * sub-route is ordered by its own paths — and candidates are ranked by
 * Kong's priority (kong/router/transform.lua `get_priority`, the 64-bit
 * number the ATC router sorts by, highest first):
 *
 *   1. match weight: how many of methods, hosts, headers, snis, paths are set
 *   2. plain hosts only (no wildcard host) before wildcard hosts
 *   3. more header names before fewer (capped at 255)
 *   4. regex path before prefix paths
 *   5. higher regex_priority (regex candidates only)
 *   6. longer prefix path before shorter
 *   7. older route (lower created_at) first — Proxy Reference, "Matching
 *      priorities": `A.created_at < B.created_at`
 * and, so that the order is total, the route's position in the input.
 */
import type { RouteEntity, ServiceEntity } from '../../schema/entities/types.ts';
import { hasWildcard, parseHostCondition, parseSniCondition, type NameCondition } from './hosts.ts';
import { normalizeRoutePath } from './normalize.ts';
import { compileRegexPath } from './regex-path.ts';

const MAX_HEADER_COUNT = 255;

export interface PrefixPath {
  kind: 'prefix';
  /** The path as configured. */
  raw: string;
  /** Normalised, what the request path must start with. */
  prefix: string;
}

export interface RegexPath {
  kind: 'regex';
  raw: string;
  regex: RegExp;
  hasGroups: boolean;
  literalPrefix: string;
}

export type PathCondition = PrefixPath | RegexPath;

export interface HeaderCondition {
  /** Lower-cased header name. */
  name: string;
  /** Lower-cased plain values. */
  values: ReadonlySet<string>;
  /** `~*` values, matched case-insensitively anywhere in the value (Kong 3's header regex). */
  regexes: readonly RegExp[];
}

export interface Candidate {
  route: RouteEntity;
  service: ServiceEntity | null;
  /** Position in the priority order (0 = tried first). */
  rank: number;
  /** Route's position in the input (final tie-break). */
  inputIndex: number;

  // priority fields
  weight: number;
  plainHostsOnly: boolean;
  headerCount: number;
  isRegex: boolean;
  regexPriority: number;
  uriLength: number;
  createdAt: number;

  // conditions (null = not set)
  methods: ReadonlySet<string> | null;
  hosts: readonly NameCondition[] | null;
  snis: readonly NameCondition[] | null;
  headers: readonly HeaderCondition[] | null;
  paths: readonly PathCondition[] | null;
}

export interface CandidateBuildResult {
  candidates: Candidate[];
  warnings: string[];
}

function nonEmpty<T>(list: readonly T[] | null | undefined): list is readonly T[] {
  return Array.isArray(list) && list.length > 0;
}

function compileHeaderRegex(source: string): RegExp | null {
  try {
    return new RegExp(source, 'iu');
  } catch {
    try {
      return new RegExp(source, 'i');
    } catch {
      return null;
    }
  }
}

function buildHeaders(route: RouteEntity, warnings: string[]): HeaderCondition[] | null {
  const headers = route.headers;
  if (headers === null || typeof headers !== 'object') return null;
  const out: HeaderCondition[] = [];
  for (const rawName of Object.keys(headers)) {
    const values = headers[rawName];
    if (!Array.isArray(values) || values.length === 0) continue;
    const plain = new Set<string>();
    const regexes: RegExp[] = [];
    for (const v of values) {
      if (typeof v !== 'string') continue;
      if (v.startsWith('~*')) {
        const re = compileHeaderRegex(v.slice(2));
        if (re === null) warnings.push(`route ${route.id}: header '${rawName}' regex '${v}' does not compile; value ignored`);
        else regexes.push(re);
      } else {
        plain.add(v.toLowerCase());
      }
    }
    out.push({ name: rawName.toLowerCase(), values: plain, regexes });
  }
  return out.length > 0 ? out : null;
}

function buildPath(raw: string, route: RouteEntity, warnings: string[]): PathCondition | null {
  if (raw.charCodeAt(0) === 126 /* ~ */) {
    const compiled = compileRegexPath(raw.slice(1));
    if (compiled === null) {
      warnings.push(`route ${route.id}: regex path '${raw}' does not compile; path ignored`);
      return null;
    }
    return { kind: 'regex', raw, ...compiled };
  }
  // The schema only stores normalised paths; normalise anyway (declarative
  // input, older rows) and keep the path as written if it is not valid.
  return { kind: 'prefix', raw, prefix: normalizeRoutePath(raw) ?? raw };
}

/** Build the candidates of one route; `inputIndex` is its position in the route list. */
export function candidatesOf(
  route: RouteEntity,
  service: ServiceEntity | null,
  inputIndex: number,
  warnings: string[],
): Candidate[] {
  const methods = nonEmpty(route.methods) ? new Set(route.methods.map((m) => m.toUpperCase())) : null;
  const hosts = nonEmpty(route.hosts) ? route.hosts.map(parseHostCondition) : null;
  const snis = nonEmpty(route.snis) ? route.snis.map(parseSniCondition) : null;
  const headers = buildHeaders(route, warnings);
  const plainHostsOnly = nonEmpty(route.hosts) && !route.hosts.some(hasWildcard);
  const headerCount = headers === null ? 0 : Math.min(headers.length, MAX_HEADER_COUNT);

  let baseWeight = 0;
  if (methods !== null) baseWeight++;
  if (hosts !== null) baseWeight++;
  if (headers !== null) baseWeight++;
  if (snis !== null) baseWeight++;

  const base = {
    route,
    service,
    rank: 0,
    inputIndex,
    plainHostsOnly,
    headerCount,
    regexPriority: typeof route.regex_priority === 'number' ? route.regex_priority : 0,
    createdAt: typeof route.created_at === 'number' ? route.created_at : 0,
    methods,
    hosts,
    snis,
    headers,
  };

  if (!nonEmpty(route.paths)) {
    if (baseWeight === 0) {
      warnings.push(`route ${route.id}: no methods, hosts, headers, paths or snis; it can never match`);
      return [];
    }
    return [{ ...base, weight: baseWeight, isRegex: false, uriLength: 0, paths: null }];
  }

  // Group paths as Kong does: every regex path together, prefix paths by the
  // length of the path as configured.
  const regexGroup: PathCondition[] = [];
  const prefixGroups = new Map<number, PathCondition[]>();
  for (const raw of route.paths) {
    if (typeof raw !== 'string' || raw === '') continue;
    const cond = buildPath(raw, route, warnings);
    if (cond === null) continue;
    if (cond.kind === 'regex') {
      regexGroup.push(cond);
    } else {
      let group = prefixGroups.get(raw.length);
      if (group === undefined) prefixGroups.set(raw.length, (group = []));
      group.push(cond);
    }
  }
  const out: Candidate[] = [];
  if (regexGroup.length > 0) {
    out.push({ ...base, weight: baseWeight + 1, isRegex: true, uriLength: 0, paths: regexGroup });
  }
  for (const [length, group] of prefixGroups) {
    out.push({ ...base, weight: baseWeight + 1, isRegex: false, regexPriority: 0, uriLength: length, paths: group });
  }
  if (out.length === 0) warnings.push(`route ${route.id}: none of its paths can be used; it can never match`);
  return out;
}

/** Negative when `a` must be tried before `b`. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.weight !== b.weight) return b.weight - a.weight;
  if (a.plainHostsOnly !== b.plainHostsOnly) return a.plainHostsOnly ? -1 : 1;
  if (a.headerCount !== b.headerCount) return b.headerCount - a.headerCount;
  if (a.isRegex !== b.isRegex) return a.isRegex ? -1 : 1;
  if (a.isRegex && a.regexPriority !== b.regexPriority) return b.regexPriority - a.regexPriority;
  if (a.uriLength !== b.uriLength) return b.uriLength - a.uriLength;
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.inputIndex - b.inputIndex;
}
