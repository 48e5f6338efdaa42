/**
 * The proxy alone (no store, no Admin API) over a Runtime compiled by the real
 * builder (src/core/runtime.ts → compileRouter, plugin plans) from entities
 * written in the test: for the proxy data-path suites.
 */
import { randomUUID } from 'node:crypto';
import type { ConfigSnapshot, PluginEntity, RouteEntity, ServiceEntity, TargetEntity, UpstreamEntity } from '../../src/schema/entities/types.ts';
import { emptyConfig } from '../../src/schema/entities/types.ts';
import { buildRuntime } from '../../src/core/runtime.ts';
import type { Runtime } from '../../src/core/runtime-types.ts';
import { startProxy, type ProxyHandle, type ProxySettings } from '../../src/core/server.ts';
import { ProxyMetrics } from '../../src/core/metrics.ts';
import { createLogger } from '../../src/shared/log.ts';
import { routeEntity, serviceEntity } from './entities.ts';
import { captureLogs, type LogCapture } from './log-capture.ts';
import { DEFAULT_HEALTHCHECKS } from '../../src/core/proxy/balancer/balancer.ts';

const now = (): number => Math.floor(Date.now() / 1000);

export function service(p: Partial<ServiceEntity> & { host: string; port: number }): ServiceEntity {
  const t = now();
  return serviceEntity({ id: randomUUID(), created_at: t, updated_at: t, ...p });
}

export function route(svc: ServiceEntity | null, p: Partial<RouteEntity>): RouteEntity {
  const t = now();
  return routeEntity({ id: randomUUID(), created_at: t, updated_at: t, service: svc === null ? null : { id: svc.id }, ...p });
}

export function plugin(name: string, config: Record<string, unknown>, scope: { route?: RouteEntity; service?: ServiceEntity } = {}): PluginEntity {
  return {
    id: randomUUID(),
    created_at: now(),
    updated_at: now(),
    tags: null,
    name,
    instance_name: null,
    route: scope.route ? { id: scope.route.id } : null,
    service: scope.service ? { id: scope.service.id } : null,
    consumer: null,
    config,
    protocols: ['grpc', 'grpcs', 'http', 'https'],
    enabled: true,
    ordering: null,
  };
}

export function upstream(name: string): UpstreamEntity {
  return {
    id: randomUUID(),
    created_at: now(),
    updated_at: now(),
    tags: null,
    name,
    algorithm: 'round-robin',
    slots: 10000,
    hash_on: 'none',
    hash_fallback: 'none',
    hash_on_header: null,
    host_header: null,
    healthchecks: structuredClone(DEFAULT_HEALTHCHECKS),
    use_srv_name: false,
  };
}

export function target(up: UpstreamEntity, t: string, weight = 100): TargetEntity {
  return { id: randomUUID(), created_at: now(), updated_at: now(), upstream: { id: up.id }, target: t, weight, tags: null };
}

let version = 0;

export function snapshot(parts: Partial<ConfigSnapshot>): ConfigSnapshot {
  return { version: ++version, ...emptyConfig(), ...parts } as ConfigSnapshot;
}

/** Captured log lines (see log-capture.ts). */
export type LogLines = LogCapture;

export interface TestProxy {
  url: string;
  httpsUrl: string | null;
  port: number;
  httpsPort: number | null;
  ref: { current: Runtime };
  logs: LogLines;
  metrics: ProxyMetrics;
  handle: ProxyHandle;
  /** Compile and swap in a new configuration. */
  apply(config: ConfigSnapshot): void;
  close(): Promise<void>;
}


export async function startTestProxy(config: ConfigSnapshot, options: { settings?: Partial<ProxySettings>; ssl?: boolean } = {}): Promise<TestProxy> {
  const { stream, logs } = captureLogs();
  const log = createLogger('info', stream);
  const buildOptions = {
    settings: { sessionSecret: 'test-secret', sessionSecretGenerated: false, redisUrl: null, trustedIps: options.settings?.trustedIps ?? [] },
    log,
  };
  const ref = { current: buildRuntime(config, buildOptions) };
  const metrics = new ProxyMetrics();
  const listen = [{ host: '127.0.0.1', port: 0, ssl: false }];
  if (options.ssl) listen.push({ host: '127.0.0.1', port: 0, ssl: true });
  const handle = await startProxy({
    listen,
    runtime: ref,
    settings: { trustedIps: [], serverTokens: true, latencyTokens: true, ...options.settings },
    logger: log,
    metrics,
  });
  const addrs = handle.addresses();
  const plain = addrs.find((a) => !a.ssl)!;
  const tls = addrs.find((a) => a.ssl) ?? null;
  return {
    url: `http://127.0.0.1:${plain.port}`,
    httpsUrl: tls ? `https://127.0.0.1:${tls.port}` : null,
    port: plain.port,
    httpsPort: tls?.port ?? null,
    ref,
    logs,
    metrics,
    handle,
    apply(next) {
      ref.current = buildRuntime(next, buildOptions);
    },
    close: () => handle.close(1000),
  };
}
