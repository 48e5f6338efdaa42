/**
 * A plugin is one module: { name, version, priority, schema, compile, phases }.
 * The core knows plugins only through this interface and the registry in
 * ./index.ts (ARCHITECTURE principle 1).
 *
 * Lifecycle: the Admin API / declarative loader validates `config` against
 * `schema` (Ajv, defaults applied) when it is written; the runtime builder calls
 * `compile(config, env)` once per plugin instance per configuration version and
 * hands the frozen result to the phase functions on every request. Long-lived
 * caches (JWKS, discovery, token caches) belong at module level keyed by what
 * they cache, so that recompiling after an unrelated change keeps them warm.
 */
import type { TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { RequestContext } from '../core/context.ts';
import type { ConsumerEntity, Protocol } from '../schema/entities/types.ts';
import type { AdminHandler } from '../admin/types.ts';

/**
 * Kong's phases, in order. `response` is Kong's buffered phase: a plugin that
 * has it makes the gateway read the whole upstream response before anything
 * goes to the client (on the routes it is attached to; other routes stream).
 */
export type PhaseName = 'rewrite' | 'access' | 'response' | 'header_filter' | 'body_filter' | 'log';

/** What compile() may use: nothing here is per request. */
export interface CompileEnv {
  /** Child logger bound to { plugin: name }. */
  log: Logger;
  /** Process-wide settings the plugin may need (e.g. a shared session secret). */
  settings: GatewaySettings;
  /** Id of the plugin entity being compiled. */
  pluginId: string;
  /** Route / service the plugin entity is attached to (Kong's conf.route_id / conf.service_id), null when not scoped so. */
  routeId?: string | null;
  serviceId?: string | null;
  /**
   * True when `config` comes from a store: it was validated against `schema`,
   * defaults applied, when it was written (Admin API, declarative loader), so
   * compile() need not validate it again — validators are costly to build,
   * and compile() runs on the event loop of a worker that is serving.
   */
  validated?: boolean;
}

/** Gateway-wide settings made available to plugins (from CLI flags / env). */
export interface GatewaySettings {
  /** Secret shared by all workers for cookie encryption when a plugin config sets none. */
  sessionSecret: string;
  /** True when sessionSecret was generated at start (single node only). */
  sessionSecretGenerated: boolean;
  /** redis://… for shared state (sessions, counters, caches), or null. */
  redisUrl: string | null;
  /** CIDRs whose X-Forwarded-* headers are trusted. */
  trustedIps: string[];
  /** Bytes of Kong's `kong_db_cache` dictionary (mem_cache_size); default 128 MiB. */
  memCacheSize?: number;
  /** Node-wide dictionaries declared by the operator (Kong's lua_shared_dict): name → bytes. */
  sharedDicts?: Readonly<Record<string, number>>;
  /** Kong's tracing_instrumentations as a mask (src/core/tracing/instrumentations.ts); 0 or absent = off. */
  tracingInstrumentations?: number;
  /** Kong's tracing_sampling_rate (default 0.01). */
  tracingSamplingRate?: number;
}

export interface PluginScopes {
  /** May this plugin be attached to a consumer? (Kong's no_consumer when false) */
  consumer: boolean;
  route: boolean;
  service: boolean;
  /**
   * May it be scoped to a consumer group (Kong Gateway Enterprise's
   * `consumer_group`)? Default false: in Kong only the plugins whose schema
   * allows it can be (the "Compatible scopes" of each plugin's page).
   */
  consumer_group?: boolean;
}

export interface PluginModule<Config = Record<string, unknown>, Compiled = unknown> {
  name: string;
  version: string;
  /** Higher runs first (Kong's PRIORITY). */
  priority: number;
  /** TypeBox schema of `config` (served at GET /schemas/plugins/:name). */
  schema: TObject;
  /** Where it may be attached; default all true. */
  scopes?: PluginScopes;
  /** Protocols it supports; default [grpc, grpcs, http, https]. */
  protocols?: Protocol[];
  /**
   * Cross-field checks beyond JSON Schema (Kong's entity_checks). Return
   * field → message for each violation; an empty object means valid.
   * Runs after schema validation, with defaults applied.
   */
  check?(config: Config): Record<string, unknown>;
  /**
   * The plugin's own Admin API endpoints (Kong's api.lua), declared rather
   * than registered as an import side effect: the Admin API collects them from
   * the loaded plugins (src/plugins/index.ts pluginAdminRoutes).
   */
  adminRoutes?: readonly PluginAdminRoute[];
  compile(config: Config, env: CompileEnv): Compiled;
  /**
   * The plugin reads the request's spans (Kong's kong.tracing): while a
   * configuration holds such a plugin and tracing_instrumentations is not
   * off, every request records a RequestTrace (ctx.trace). Otherwise no
   * request pays for tracing.
   */
  readsTraces?: boolean;
  /**
   * True when this compiled instance makes the TLS listener ask clients for a
   * certificate (requested, never required, never verified) on the handshakes
   * its scope covers, matched by SNI through the routes' `snis` (Kong's
   * certificate phase; src/core/proxy/client-cert.ts). tls-handshake-modifier.
   */
  requestsClientCertificate?(compiled: Compiled): boolean;
  /** Release timers/sockets held by a compiled instance replaced by a newer config. */
  close?(compiled: Compiled): void | Promise<void>;

  rewrite?(ctx: RequestContext, conf: Compiled): void | Promise<void>;
  access?(ctx: RequestContext, conf: Compiled): void | Promise<void>;
  /**
   * Kong's buffered `response` phase: runs once the whole upstream response is
   * read (pdk.serviceResponse.getRawBody), before header_filter. It may change
   * the status, headers and body (pdk.response.setStatus / setHeader / setBody)
   * or replace the response (pdk.response.exit). Having it turns on buffering
   * for the routes the plugin applies to.
   */
  response?(ctx: RequestContext, conf: Compiled): void | Promise<void>;
  header_filter?(ctx: RequestContext, conf: Compiled): void;
  /** Transform one response chunk; `eof` true on the last call (chunk may be empty). */
  body_filter?(ctx: RequestContext, conf: Compiled, chunk: Buffer, eof: boolean): Buffer;
  log?(ctx: RequestContext, conf: Compiled): void;
}

// Consumer lookups are the core's (src/core/consumers.ts); re-exported for plugins.
export type { ConsumerIndex, CredentialKind, CredentialMatch } from '../core/consumers.ts';

/** One Admin API endpoint of a plugin; `pattern` uses `:name` parameters. */
export interface PluginAdminRoute {
  readonly method: string;
  readonly pattern: string;
  readonly handler: AdminHandler;
  /** Acts on per-process state: in cluster mode also run in every worker (src/admin/node-local.ts). */
  readonly nodeLocal?: boolean;
}
