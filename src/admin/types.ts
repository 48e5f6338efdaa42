/**
 * Shapes shared by the Admin API modules and by code that extends it
 * (plugins registering endpoints through `registerAdminRoute`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import type { ParsedBody } from './body.ts';

/** Kong's `server` block of `GET /status` (nginx connection counters), counted by the metrics core. */
import type { ServerStatistics as ServerStats } from '../core/metrics-node.ts';
export type { ServerStats };

export interface ListenAddress {
  host: string;
  port: number;
  ssl?: boolean;
}

/**
 * What the runtime tells the Admin API about the node, read on every
 * `GET /` and `GET /status` (so it is always current). `configuration` is
 * Kong's block as-is (secrets already removed); the shorthand fields
 * (database, listeners, workers, plugins) fill the Kong keys it lacks.
 */
export interface AdminInfo {
  /** Portcullis' own version, e.g. "0.1.0" (GET / `portcullis_version`; `version` is the Kong release we match). */
  version: string;
  /** `GET /` tagline; defaults to "Welcome to Portcullis". */
  tagline?: string;
  hostname: string;
  node_id: string;
  /** Kong's `configuration` block of `GET /`, secrets removed. */
  configuration?: Record<string, unknown>;
  /** "sqlite" | "postgres" | "off" → configuration.database. */
  database?: string;
  proxyListeners?: ListenAddress[];
  adminListeners?: ListenAddress[];
  /** → configuration.nginx_worker_processes */
  workers?: number;
  /** Plugins enabled on this node → configuration.loaded_plugins. */
  plugins?: string[];
  /** Version of the configuration the proxy currently runs. */
  configVersion?: number;
  /** Why the last configuration could not be compiled (the previous one keeps serving), or null. */
  configError?: string | null;
  /** Why the node cannot serve yet (GET /status/ready: 503 with this message), or null once it can. */
  notReady?: () => string | null;
  /** Connection counters for `GET /status`; zeros when absent. */
  server?: ServerStats;
  /** The node's proxy connection counters, read when `GET /status` is asked (wins over `server`). */
  serverStats?: () => Promise<ServerStats>;
  /** `GET /status` memory block; computed from the process when absent. */
  memory?: Record<string, unknown>;
  /** DB-less: hash of the configuration loaded at start (Kong's `configuration_hash`). */
  configuration_hash?: string | null;
  /** Process ids (Kong's `pids`); defaults to this process. */
  pids?: { master: number; workers?: number[] };
  /** The node's balancer health (src/core/proxy/balancer/health-owner.ts), for /upstreams/{u}/health and …/healthy|unhealthy. */
  health?: UpstreamHealthApi;
}

/** What the Admin API reads and sets of the node's upstream health (Kong's shapes built by the core). */
export interface UpstreamHealthApi {
  /** Health and health data per target (`host:port`) of an upstream's balancer, or null when it has none. */
  targets(upstreamId: string): Map<string, { health: string; data: unknown }> | null;
  /** `?balancer_health=1` data, or null when the upstream has no balancer. */
  balancer(upstreamId: string): Record<string, unknown> | null;
  /** Mark a target (or one of its addresses) healthy or unhealthy; Kong's error message, or null. */
  set(upstreamId: string, target: string, address: string | null, healthy: boolean): string | null;
}

export interface AdminRequest {
  method: string;
  /** Path without query string, as received (percent-encoded). */
  path: string;
  /** Route parameters, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: ParsedBody;
}

export interface AdminResponse {
  status: number;
  /** JSON body; omitted for 204/304. */
  body?: unknown;
  /** Non-JSON body (e.g. YAML export). */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface AdminState {
  /** Hash of the declarative configuration last loaded through POST /config. */
  configHash: string | null;
  /** The status API was told to drain (POST /status/ready): /status/ready answers 503. */
  draining?: boolean;
}

export interface AdminContext {
  store: Store;
  log: Logger;
  info: () => AdminInfo;
  /** DB-less mode: entity writes are refused, POST /config replaces everything. */
  declarative: boolean;
  onConfigReplaced?: () => void;
  state: AdminState;
}

export type AdminHandler = (req: AdminRequest, ctx: AdminContext) => Promise<AdminResponse> | AdminResponse;

export interface RouteOptions {
  /** Accept YAML / plain-text bodies (POST /config). */
  acceptText?: boolean;
  /** Acts on per-process state: in cluster mode also run in every worker (see node-local.ts). */
  nodeLocal?: boolean;
}
