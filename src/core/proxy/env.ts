/**
 * What every request on a set of proxy listeners shares: the live Runtime
 * reference, the logger, header settings, the real-IP resolver, metrics and
 * the access log, and the count of requests and tunnels in flight (for a
 * graceful close).
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime-types.ts';
import type { RespondEnv } from '../respond.ts';
import type { ProxyMetrics } from '../metrics.ts';
import type { AccessLog } from '../access-log.ts';
import type { RealIpResolver } from './client-ip.ts';

export class ProxyEnv implements RespondEnv {
  readonly ref: { current: Runtime };
  readonly log: Logger;
  readonly serverTokens: boolean;
  readonly latencyTokens: boolean;
  readonly serverHeader: string;
  /** `1.1 <token>`: what the gateway appends to Via (RFC 9110 §7.6.3). */
  readonly viaToken: string;
  readonly realIp: RealIpResolver;
  readonly metrics: ProxyMetrics | null;
  readonly accessLog: AccessLog | null;
  readonly maxRequestBodyBytes: number | null;
  /** Requests (and upgraded connections) not finished yet. */
  inflight: number;
  /** Called when inflight drops to 0 while closing. */
  onIdle: (() => void) | null;
  /** Live WebSocket tunnels, destroyed when the listener closes. */
  readonly tunnels: Set<Socket | Duplex>;

  constructor(init: {
    ref: { current: Runtime };
    log: Logger;
    serverTokens: boolean;
    latencyTokens: boolean;
    serverHeader: string;
    realIp: RealIpResolver;
    metrics: ProxyMetrics | null;
    accessLog: AccessLog | null;
    maxRequestBodyBytes: number | null;
  }) {
    this.ref = init.ref;
    this.log = init.log;
    this.serverTokens = init.serverTokens;
    this.latencyTokens = init.latencyTokens;
    this.serverHeader = init.serverHeader;
    this.viaToken = `1.1 ${init.serverHeader}`;
    this.realIp = init.realIp;
    this.metrics = init.metrics;
    this.accessLog = init.accessLog;
    this.maxRequestBodyBytes = init.maxRequestBodyBytes;
    this.inflight = 0;
    this.onIdle = null;
    this.tunnels = new Set();
  }
}
