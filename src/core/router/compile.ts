/**
 * compileRouter: routes + services → an immutable Router with Kong's
 * `traditional_compatible` matching (see candidates.ts for the priority order,
 * hosts.ts for host/SNI forms, normalize.ts for the path the router sees,
 * upstream-path.ts for strip_path / path_handling).
 *
 * Lookup structure, so a match costs about the same with 10 or 10,000 routes:
 *
 *   host index ── exact host  → bucket        (Map)
 *              ├─ "*.suffix"  → bucket        (Map, probed once per label of the request host)
 *              ├─ "prefix.*"  → bucket        (Map, idem)
 *              └─ no hosts    → one bucket
 *   bucket ────── radix tree: prefix path → items; regex path → items keyed by
 *              │  its literal prefix (a regex is only run on paths that start with it)
 *              └─ items without paths
 *
 * An item is (candidate, one of its paths) with `order` = rank × 2^16 + the
 * path's position. match() walks the buckets the request can reach, and in
 * each item list (sorted by order) stops at the first item that matches every
 * condition or whose order cannot beat the best found so far. Regexes run last,
 * and only for items that passed every other condition.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Protocol, RouteEntity, ServiceEntity } from '../../schema/entities/types.ts';
import { logger } from '../../shared/log.ts';
import { candidatesOf, compareCandidates, type Candidate, type HeaderCondition, type PathCondition } from './candidates.ts';
import { anyHostMatches, anyNameMatches } from './hosts.ts';
import { RadixTree } from './radix.ts';
import { capturesOf } from './regex-path.ts';
import type { RouteMatch, Router, RouterInput } from './types.ts';
import { upstreamPathFor } from './upstream-path.ts';

/** Protocols of Kong's http subsystem; routes with none of them are stream routes, not ours. */
const HTTP_SUBSYSTEM: ReadonlySet<Protocol> = new Set<Protocol>(['http', 'https', 'grpc', 'grpcs', 'ws', 'wss']);

const PATH_SLOTS = 65536;

interface Item {
  cand: Candidate;
  path: PathCondition | null;
  order: number;
}

interface Bucket {
  tree: RadixTree<Item>;
  pathless: Item[];
}

function newBucket(): Bucket {
  return { tree: new RadixTree<Item>(), pathless: [] };
}

function byOrder(a: Item, b: Item): number {
  return a.order - b.order;
}

function sortBucket(b: Bucket): void {
  b.pathless.sort(byOrder);
  b.tree.forEachList((list) => list.sort(byOrder));
}

function headerValuesMatch(cond: HeaderCondition, value: string): boolean {
  const lower = value.toLowerCase();
  if (cond.values.has(lower)) return true;
  for (let i = 0; i < cond.regexes.length; i++) if (cond.regexes[i]!.test(lower)) return true;
  return false;
}

/** One header condition: any value the client sent for that header matches any configured value. */
function headerMatches(
  cond: HeaderCondition,
  headers: IncomingHttpHeaders,
  distinct: Record<string, string[] | undefined> | undefined,
): boolean {
  if (distinct !== undefined) {
    const list = distinct[cond.name];
    if (list === undefined) return false;
    for (let i = 0; i < list.length; i++) if (headerValuesMatch(cond, list[i]!)) return true;
    return false;
  }
  const v = headers[cond.name];
  if (v === undefined) return false;
  if (typeof v !== 'string') {
    for (let i = 0; i < v.length; i++) if (headerValuesMatch(cond, v[i]!)) return true;
    return false;
  }
  if (headerValuesMatch(cond, v)) return true;
  // Node joins repeated header lines with ", "; without headersDistinct try each part.
  if (v.includes(',')) {
    for (const part of v.split(',')) if (headerValuesMatch(cond, part.trim())) return true;
  }
  return false;
}

class CompiledRouter implements Router {
  readonly size: number;
  private readonly exact: Map<string, Bucket>;
  private readonly suffix: Map<string, Bucket>;
  private readonly prefix: Map<string, Bucket>;
  private readonly hostless: Bucket;

  // Per-match scratch state. match() is synchronous, so one set per router is enough.
  private readonly lists: Array<readonly Item[]> = [];
  private bestOrder = Infinity;
  private bestItem: Item | null = null;
  private bestExec: RegExpExecArray | null = null;

  constructor(
    size: number,
    exact: Map<string, Bucket>,
    suffix: Map<string, Bucket>,
    prefix: Map<string, Bucket>,
    hostless: Bucket,
  ) {
    this.size = size;
    this.exact = exact;
    this.suffix = suffix;
    this.prefix = prefix;
    this.hostless = hostless;
  }

  match(input: RouterInput): RouteMatch | null {
    this.bestOrder = Infinity;
    this.bestItem = null;
    this.bestExec = null;
    const host = input.host;
    if (host !== '') {
      const b = this.exact.get(host);
      if (b !== undefined) this.scanBucket(b, input);
      if (this.suffix.size > 0 || this.prefix.size > 0) this.scanWildcards(host, input);
    }
    this.scanBucket(this.hostless, input);
    const item = this.bestItem;
    if (item === null) return null;
    const exec = this.bestExec;
    this.bestItem = null;
    this.bestExec = null;
    return this.result(item, exec, input.path);
  }

  private scanWildcards(host: string, input: RouterInput): void {
    for (let i = host.indexOf('.'); i !== -1; i = host.indexOf('.', i + 1)) {
      if (this.suffix.size > 0) {
        const b = this.suffix.get(host.slice(i));
        if (b !== undefined) this.scanBucket(b, input);
      }
      if (this.prefix.size > 0) {
        const b = this.prefix.get(host.slice(0, i + 1));
        if (b !== undefined) this.scanBucket(b, input);
      }
    }
  }

  private scanBucket(bucket: Bucket, input: RouterInput): void {
    const lists = this.lists;
    lists.length = 0;
    if (bucket.tree.size > 0) bucket.tree.collectPrefixesOf(input.path, lists);
    if (bucket.pathless.length > 0) lists.push(bucket.pathless);
    for (let l = 0; l < lists.length; l++) {
      const list = lists[l]!;
      for (let i = 0; i < list.length; i++) {
        const item = list[i]!;
        if (item.order >= this.bestOrder) break;
        if (this.fullMatch(item, input)) break;
      }
    }
    lists.length = 0;
  }

  /** Every condition of the item's candidate; records it as the best match when it holds. */
  private fullMatch(item: Item, input: RouterInput): boolean {
    const c = item.cand;
    if (c.methods !== null && !c.methods.has(input.method)) return false;
    if (c.hosts !== null && !anyHostMatches(c.hosts, input.host, input.port)) return false;
    // SNI only constrains https requests (Kong: `net.protocol != "https" || tls.sni == …`, #6425).
    if (c.snis !== null && input.scheme === 'https' && (input.sni === null || !anyNameMatches(c.snis, input.sni))) {
      return false;
    }
    if (c.headers !== null) {
      for (let i = 0; i < c.headers.length; i++) {
        if (!headerMatches(c.headers[i]!, input.headers, input.headersDistinct)) return false;
      }
    }
    let exec: RegExpExecArray | null = null;
    const path = item.path;
    if (path !== null && path.kind === 'regex') {
      exec = path.regex.exec(input.path);
      if (exec === null) return false;
    }
    this.bestOrder = item.order;
    this.bestItem = item;
    this.bestExec = exec;
    return true;
  }

  private result(item: Item, exec: RegExpExecArray | null, reqPath: string): RouteMatch {
    const c = item.cand;
    const route = c.route;
    const path = item.path;
    let matched: string | null = null;
    let uriCaptures: Record<string, string> | null = null;
    if (path !== null) {
      if (path.kind === 'prefix') {
        matched = path.prefix;
      } else {
        matched = exec![0];
        if (path.hasGroups) uriCaptures = capturesOf(exec!);
      }
    }
    const strip = route.strip_path === true;
    const strippedPrefix = strip ? matched : null;
    return {
      route,
      service: c.service,
      upstreamPath: upstreamPathFor(
        reqPath,
        strippedPrefix,
        strip,
        route.path_handling === 'v1' ? 'v1' : 'v0',
        c.service?.path ?? null,
      ),
      matchedPath: path === null ? null : path.raw,
      uriCaptures,
      strippedPrefix,
    };
  }
}

function isHttpRoute(route: RouteEntity): boolean {
  if (!Array.isArray(route.protocols) || route.protocols.length === 0) return true; // Kong's default: http, https
  for (const p of route.protocols) if (HTTP_SUBSYSTEM.has(p)) return true;
  return false;
}

export function compileRouter(routes: RouteEntity[], services: ServiceEntity[]): Router {
  const servicesById = new Map<string, ServiceEntity>();
  for (const s of services) servicesById.set(s.id, s);

  const warnings: string[] = [];
  const candidates: Candidate[] = [];
  let size = 0;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    if (!isHttpRoute(route)) continue;
    let service: ServiceEntity | null = null;
    if (route.service !== null && route.service !== undefined) {
      service = servicesById.get(route.service.id) ?? null;
      if (service === null) warnings.push(`route ${route.id}: service ${route.service.id} not found; matched without a service`);
      // Kong Service `enabled`: "If set to false, the proxy behavior will be as
      // if any routes attached to it do not exist (404)".
      else if (service.enabled === false) continue;
    }
    const own = candidatesOf(route, service, i, warnings);
    if (own.length > 0) size++;
    for (const c of own) candidates.push(c);
  }

  candidates.sort(compareCandidates);

  const exact = new Map<string, Bucket>();
  const suffix = new Map<string, Bucket>();
  const prefix = new Map<string, Bucket>();
  const hostless = newBucket();

  for (let rank = 0; rank < candidates.length; rank++) {
    const cand = candidates[rank]!;
    cand.rank = rank;
    const items: Item[] = [];
    if (cand.paths === null) {
      items.push({ cand, path: null, order: rank * PATH_SLOTS });
    } else {
      for (let p = 0; p < cand.paths.length && p < PATH_SLOTS; p++) {
        items.push({ cand, path: cand.paths[p]!, order: rank * PATH_SLOTS + p });
      }
    }

    const buckets: Bucket[] = [];
    if (cand.hosts === null) {
      buckets.push(hostless);
    } else {
      for (const h of cand.hosts) {
        const map = h.kind === 'exact' ? exact : h.kind === 'suffix' ? suffix : prefix;
        let b = map.get(h.value);
        if (b === undefined) map.set(h.value, (b = newBucket()));
        if (!buckets.includes(b)) buckets.push(b);
      }
    }
    for (const b of buckets) {
      for (const item of items) {
        const path = item.path;
        if (path === null) b.pathless.push(item);
        else b.tree.insert(path.kind === 'prefix' ? path.prefix : path.literalPrefix, item);
      }
    }
  }

  sortBucket(hostless);
  for (const map of [exact, suffix, prefix]) for (const b of map.values()) sortBucket(b);

  if (warnings.length > 0) {
    const log = logger();
    for (const w of warnings) log.warn({ component: 'router' }, w);
  }
  return new CompiledRouter(size, exact, suffix, prefix, hostless);
}
