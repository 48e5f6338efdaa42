/**
 * Runtime builder: compiles one ConfigSnapshot into the immutable Runtime the
 * hot path reads (router tables, resolved plugin plans with compiled plugin
 * configs, consumer index, TLS contexts). A failed build throws and leaves
 * whatever Runtime is live untouched (see runtime-manager.ts).
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { ConfigSnapshot, ConsumerEntity, PluginEntity, ServiceEntity, TargetEntity, UpstreamEntity } from '../schema/entities/types.ts';
import { credentialExpired } from '../schema/entities/credential-ttl.ts';
import type { GatewaySettings } from '../plugins/types.ts';
import type { ConsumerIndex, CredentialKind, CredentialMatch } from './consumers.ts';
import { getPlugin, loadPlugins } from '../plugins/index.ts';
import { VaultError } from '../vault/resolve.ts';
import { resolveSnapshotSecrets } from '../vault/snapshot.ts';
import { compileRouter } from './router/compile.ts';
import { buildPlan, planKey, EMPTY_PLAN, type CompiledPlugin } from './pipeline/plan.ts';
import type { PluginPlan } from './pipeline/types.ts';
import type { Runtime, UpstreamEntry } from './runtime-types.ts';
import { Balancer } from './proxy/balancer/balancer.ts';
import { buildClientCertDecision } from './proxy/client-cert.ts';

export class RuntimeBuildError extends Error {
  readonly pluginId: string | null;
  constructor(message: string, pluginId: string | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeBuildError';
    this.pluginId = pluginId;
  }
}

/** Credential entities and the field they are found by (their endpoint key). */
const CREDENTIAL_KINDS: ReadonlyArray<{ kind: CredentialKind; field: string }> = [
  { kind: 'keyauth_credentials', field: 'key' },
  // Kong: basicauth_credentials:select_by_username, jwt_secrets:select_by_key, hmacauth_credentials:select_by_username
  { kind: 'basicauth_credentials', field: 'username' },
  { kind: 'jwt_secrets', field: 'key' },
  { kind: 'hmacauth_credentials', field: 'username' },
];

/**
 * secret → {credential, consumer} per credential kind, resolved once per
 * Runtime (Kong caches the same lookup per key). Credentials whose consumer
 * is missing are left out; a ttl is checked at lookup time.
 */
function buildCredentialIndex(snapshot: ConfigSnapshot, consumerById: ReadonlyMap<string, ConsumerEntity>): Map<CredentialKind, Map<string, CredentialMatch>> {
  const out = new Map<CredentialKind, Map<string, CredentialMatch>>();
  for (const { kind, field } of CREDENTIAL_KINDS) {
    const bySecret = new Map<string, CredentialMatch>();
    for (const row of (snapshot[kind] ?? []) as unknown as Array<Record<string, unknown> & { id: string; consumer?: { id: string } | null }>) {
      const secret = row[field];
      const consumer = row.consumer ? consumerById.get(row.consumer.id) : undefined;
      if (typeof secret !== 'string' || consumer === undefined) continue;
      bySecret.set(secret, { credential: Object.freeze({ ...row }), consumer });
    }
    out.set(kind, bySecret);
  }
  return out;
}

const NO_GROUPS: readonly string[] = Object.freeze([]);

/** consumer id → its ACL groups (Kong's acls rows), resolved once per Runtime as Kong caches them per consumer. */
function buildAclGroups(snapshot: ConfigSnapshot): Map<string, readonly string[]> {
  const out = new Map<string, string[]>();
  for (const row of snapshot.acls ?? []) {
    let list = out.get(row.consumer.id);
    if (list === undefined) out.set(row.consumer.id, (list = []));
    if (!list.includes(row.group)) list.push(row.group);
  }
  for (const list of out.values()) Object.freeze(list);
  return out;
}

/** consumer id → names of its consumer groups. */
function buildConsumerGroupNames(snapshot: ConfigSnapshot): Map<string, readonly string[]> {
  const names = new Map<string, string>();
  for (const g of snapshot.consumer_groups ?? []) names.set(g.id, g.name);
  const out = new Map<string, string[]>();
  for (const m of snapshot.consumer_group_consumers ?? []) {
    const name = names.get(m.consumer_group.id);
    if (name === undefined) continue;
    let list = out.get(m.consumer.id);
    if (list === undefined) out.set(m.consumer.id, (list = []));
    list.push(name);
  }
  return out;
}

function buildConsumerIndex(consumers: ConsumerEntity[], snapshot?: ConfigSnapshot): ConsumerIndex {
  const byId = new Map<string, ConsumerEntity>();
  const byUsername = new Map<string, ConsumerEntity>();
  const byUsernameLower = new Map<string, ConsumerEntity>();
  const byCustomId = new Map<string, ConsumerEntity>();
  for (const c of consumers) {
    byId.set(c.id, c);
    if (c.username !== null) {
      byUsername.set(c.username, c);
      const lower = c.username.toLowerCase();
      if (!byUsernameLower.has(lower)) byUsernameLower.set(lower, c);
    }
    if (c.custom_id !== null) byCustomId.set(c.custom_id, c);
  }
  const credentials = snapshot !== undefined ? buildCredentialIndex(snapshot, byId) : new Map<CredentialKind, Map<string, CredentialMatch>>();
  const aclGroups = snapshot !== undefined ? buildAclGroups(snapshot) : new Map<string, readonly string[]>();
  const groupNames = snapshot !== undefined ? buildConsumerGroupNames(snapshot) : new Map<string, readonly string[]>();
  const groupSet = new Set((snapshot?.consumer_groups ?? []).map((g) => g.name));
  return {
    aclGroups: (id) => aclGroups.get(id) ?? NO_GROUPS,
    consumerGroupNames: (id) => groupNames.get(id) ?? NO_GROUPS,
    hasConsumerGroup: (name) => groupSet.has(name),
    credential: (kind, secret) => {
      const match = credentials.get(kind)?.get(secret);
      return match === undefined || credentialExpired(match.credential) ? null : match;
    },
    byId: (id) => byId.get(id) ?? null,
    byUsername: (u, ignoreCase = false) => (ignoreCase ? byUsernameLower.get(u.toLowerCase()) : byUsername.get(u)) ?? null,
    byCustomId: (id) => byCustomId.get(id) ?? null,
  };
}

/** Lazily built TLS contexts: exact SNI names first, then `*.suffix` wildcards. */
function buildCertificateLookup(snapshot: ConfigSnapshot): (servername: string) => SecureContext | null {
  const pems = new Map<string, { cert: string; key: string; cert_alt: string | null; key_alt: string | null }>();
  for (const c of snapshot.certificates) pems.set(c.id, c);
  const exact = new Map<string, string>();
  const wildcardSuffix = new Map<string, string>();
  const wildcardPrefix = new Map<string, string>();
  for (const sni of snapshot.snis) {
    const name = sni.name.toLowerCase();
    if (name.startsWith('*.')) wildcardSuffix.set(name.slice(1), sni.certificate.id);
    else if (name.endsWith('.*')) wildcardPrefix.set(name.slice(0, -1), sni.certificate.id);
    else exact.set(name, sni.certificate.id);
  }
  const contexts = new Map<string, SecureContext>();
  const contextFor = (certId: string): SecureContext | null => {
    let ctx = contexts.get(certId);
    if (ctx !== undefined) return ctx;
    const pem = pems.get(certId);
    if (pem === undefined) return null;
    const certs = [pem.cert];
    const keys = [pem.key];
    if (pem.cert_alt !== null && pem.key_alt !== null) {
      certs.push(pem.cert_alt);
      keys.push(pem.key_alt);
    }
    ctx = createSecureContext({ cert: certs, key: keys });
    contexts.set(certId, ctx);
    return ctx;
  };
  return (servername: string) => {
    const name = servername.toLowerCase();
    const id = exact.get(name);
    if (id !== undefined) return contextFor(id);
    const dot = name.indexOf('.');
    if (dot !== -1) {
      const w = wildcardSuffix.get(name.slice(dot));
      if (w !== undefined) return contextFor(w);
      const lastDot = name.lastIndexOf('.');
      const p = wildcardPrefix.get(name.slice(0, lastDot + 1));
      if (p !== undefined) return contextFor(p);
    }
    return null;
  };
}

export interface BuildOptions {
  settings: GatewaySettings;
  log: Logger;
  /** Snapshots come from a store, whose plugin configs were validated when written (CompileEnv.validated). */
  validated?: boolean;
}

/** Compile every enabled plugin entity; a config that fails to compile fails the build. */
function compilePlugins(plugins: PluginEntity[], options: BuildOptions): { byName: Map<string, CompiledPlugin[]>; all: CompiledPlugin[] } {
  const byName = new Map<string, CompiledPlugin[]>();
  const all: CompiledPlugin[] = [];
  for (const entity of plugins) {
    if (!entity.enabled) continue;
    // Only the HTTP subsystem is proxied; plugins bound to other protocols only do not apply.
    if (!entity.protocols.includes('http') && !entity.protocols.includes('https')) continue;
    const module = getPlugin(entity.name);
    if (module === undefined) throw new RuntimeBuildError(`plugin '${entity.name}' is not enabled on this node`, entity.id);
    let conf: unknown;
    try {
      conf = module.compile(entity.config, { log: options.log.child({ plugin: entity.name }), settings: options.settings, pluginId: entity.id, routeId: entity.route?.id ?? null, serviceId: entity.service?.id ?? null, validated: options.validated === true });
    } catch (err) {
      throw new RuntimeBuildError(`plugin '${entity.name}' (${entity.id}) failed to compile: ${(err as Error).message}`, entity.id, { cause: err });
    }
    const cp: CompiledPlugin = { entity, instance: { id: entity.id, name: entity.name, module, conf } };
    all.push(cp);
    let list = byName.get(entity.name);
    if (list === undefined) byName.set(entity.name, (list = []));
    list.push(cp);
  }
  return { byName, all };
}

/** Names of the plugins a snapshot's enabled plugin entities use. */
export function pluginNames(snapshot: ConfigSnapshot): Set<string> {
  const names = new Set<string>();
  for (const p of snapshot.plugins) if (p.enabled) names.add(p.name);
  return names;
}

/**
 * Load every plugin module the snapshot uses (asynchronously, without long
 * event-loop stalls), then build. What the runtime manager calls: plugin
 * code is ready before the configuration goes live (principle 16).
 */
export async function buildRuntimeReady(snapshot: ConfigSnapshot, options: BuildOptions): Promise<Runtime> {
  await loadPlugins(pluginNames(snapshot));
  return buildRuntime(snapshot, options);
}

/** The snapshot with vault references resolved; an unresolvable reference fails the build with Kong's message. */
function withSecrets(snapshot: ConfigSnapshot): ConfigSnapshot {
  try {
    return resolveSnapshotSecrets(snapshot, (name) => (getPlugin(name)?.schema as unknown as Record<string, unknown> | undefined) ?? null);
  } catch (err) {
    if (err instanceof VaultError) throw new RuntimeBuildError(err.message, null, { cause: err });
    throw err;
  }
}

export function buildRuntime(stored: ConfigSnapshot, options: BuildOptions): Runtime {
  // From here on the configuration holds secrets: it stays inside this Runtime (never logged or served).
  const snapshot = withSecrets(stored);
  const services = new Map<string, ServiceEntity>();
  for (const s of snapshot.services) services.set(s.id, s);

  const router = compileRouter(snapshot.routes, snapshot.services);
  const { byName, all } = compilePlugins(snapshot.plugins, options);
  // Group-scoped plugins name their group by id; requests carry their groups by name.
  const groupNames = new Map<string, string>();
  for (const g of snapshot.consumer_groups ?? []) groupNames.set(g.id, g.name);

  // One plan per route; identical plans are shared (many routes, few distinct chains).
  const plans = new Map<string, PluginPlan>();
  const shared = new Map<string, PluginPlan>();
  for (const route of snapshot.routes) {
    const serviceId = route.service?.id ?? null;
    const service = serviceId !== null ? services.get(serviceId) : undefined;
    // Routes of a disabled service are left out of the router (404, as Kong documents), so their plan is never used.
    let plan = buildPlan(byName, route.id, service?.enabled === false ? null : serviceId, groupNames);
    if (plan !== EMPTY_PLAN) {
      const key = planKey(plan);
      const existing = shared.get(key);
      if (existing !== undefined) plan = existing;
      else shared.set(key, plan);
    }
    plans.set(route.id, plan);
  }
  const globalPlan = buildPlan(byName, null, null, groupNames);
  const tracing = all.some((cp) => cp.instance.module.readsTraces === true) ? (options.settings.tracingInstrumentations ?? 0) : 0;

  const upstreams = new Map<string, UpstreamEntry>();
  const byUpstream = new Map<string, TargetEntity[]>();
  for (const u of snapshot.upstreams) byUpstream.set(u.id, []);
  for (const t of snapshot.targets) byUpstream.get(t.upstream.id)?.push(t);
  for (const u of snapshot.upstreams) {
    const all = byUpstream.get(u.id)!;
    upstreams.set(u.name, { upstream: u, targets: all.filter((t) => t.weight > 0), balancer: new Balancer(u, all) });
  }

  const caCertificates = new Map<string, string>();
  for (const ca of snapshot.ca_certificates) caCertificates.set(ca.id, ca.cert);

  const certificateFor = buildCertificateLookup(snapshot);
  const requestsClientCertificate = buildClientCertDecision(
    all.filter((cp) => cp.instance.module.requestsClientCertificate?.(cp.instance.conf) === true).map((cp) => cp.entity),
    snapshot.routes,
  );
  const log = options.log;
  return Object.freeze({
    version: snapshot.version,
    router,
    plans,
    globalPlan,
    tracing,
    tracingSamplingRate: options.settings.tracingSamplingRate ?? 0.01,
    consumers: buildConsumerIndex(snapshot.consumers, snapshot),
    upstreams,
    services,
    certificateFor,
    requestsClientCertificate,
    caCertificates,
    async dispose() {
      for (const entry of upstreams.values()) entry.balancer.close();
      for (const cp of all) {
        if (cp.instance.module.close === undefined) continue;
        try {
          await cp.instance.module.close(cp.instance.conf);
        } catch (err) {
          log.warn({ plugin: cp.instance.name, err: (err as Error).message }, 'plugin close failed');
        }
      }
    },
  });
}
