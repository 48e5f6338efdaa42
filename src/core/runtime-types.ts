/**
 * The immutable Runtime compiled from one ConfigSnapshot (built by runtime.ts,
 * swapped atomically; in-flight requests keep the one they started with).
 */
import type { SecureContext } from 'node:tls';
import type { ConsumerIndex } from './consumers.ts';
import type { PluginPlan } from './pipeline/types.ts';
import type { Router } from './router/types.ts';
import type { ServiceEntity, UpstreamEntity, TargetEntity } from '../schema/entities/types.ts';
import type { Balancer } from './proxy/balancer/balancer.ts';

/** An upstream entity of a Runtime: its targets with weight > 0, and its balancer (every target). */
export interface UpstreamEntry {
  readonly upstream: UpstreamEntity;
  readonly targets: TargetEntity[];
  readonly balancer: Balancer;
}

export interface Runtime {
  readonly version: number;
  readonly router: Router;
  /** Plugin plan per route id (routes with no applicable plugins share EMPTY_PLAN). */
  readonly plans: ReadonlyMap<string, PluginPlan>;
  /** Global plugins only: for the rewrite phase (before routing) and for requests no route matched. */
  readonly globalPlan: PluginPlan;
  readonly consumers: ConsumerIndex;
  /** Upstream entities by name, with their targets and balancer (a service host naming an upstream balances across targets). */
  readonly upstreams: ReadonlyMap<string, UpstreamEntry>;
  readonly services: ReadonlyMap<string, ServiceEntity>;
  /** TLS context for an SNI (exact, then wildcard), or null for the listener's default. */
  certificateFor(servername: string): SecureContext | null;
  /**
   * Should this TLS handshake ask the client for a certificate (never require,
   * never verify)? True where a plugin that requests one (tls-handshake-modifier)
   * applies to the SNI; `null` = the client sent no SNI (src/core/proxy/client-cert.ts).
   */
  requestsClientCertificate(servername: string | null): boolean;
  /** CA certificate PEMs by id (service.ca_certificates). */
  readonly caCertificates: ReadonlyMap<string, string>;
  /**
   * Instrumentation mask every request records spans for (src/core/tracing):
   * non-zero only when a plugin that reads traces is configured and
   * tracing_instrumentations is not off.
   */
  readonly tracing: number;
  /** tracing_sampling_rate: the sampling decision of a trace until a plugin makes its own. */
  readonly tracingSamplingRate: number;
  /** Release per-runtime resources (plugin close hooks) once no request uses it. */
  dispose(): Promise<void>;
}
