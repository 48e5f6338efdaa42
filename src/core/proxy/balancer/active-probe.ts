/**
 * Active health checks: probes sent to each address on a timer
 * (lua-resty-healthcheck's active checker, configured by Kong's
 * `healthchecks.active`). Healthy addresses are probed every
 * `healthy.interval` seconds, unhealthy ones every `unhealthy.interval`
 * (0 = not probed); at most `concurrency` probes run at once and a round
 * does not start while the previous one of its kind is running.
 *
 * - `http` / `https`: `GET http_path` with `headers`, Host = the upstream's
 *   host_header or the target's host; an `https` probe sends `https_sni`
 *   (default: that host) and verifies the certificate unless
 *   `https_verify_certificate` is false. A status in `healthy.http_statuses`
 *   is a success, one in `unhealthy.http_statuses` an HTTP failure, any
 *   other status counts for nothing.
 * - `tcp`: connecting is a success.
 * A refused or reset connection is a TCP failure; no answer within
 * `timeout` seconds is a timeout.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, isIP } from 'node:net';
import type { Healthchecks } from '../../../schema/entities/types.ts';
import type { Address } from './address.ts';
import type { Balancer } from './balancer.ts';
import { MOSTLY_UNHEALTHY, OBS_HTTP_FAILURE, OBS_SUCCESS, OBS_TCP_FAILURE, OBS_TIMEOUT } from './health-state.ts';

/** What a probe found: an OBS_* value, or -1 (a status in neither list). */
export type ProbeResult = number;

export interface ActiveSpec {
  readonly type: 'tcp' | 'http' | 'https';
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly path: string;
  readonly sni: string | null;
  readonly verify: boolean;
  readonly headers: Record<string, string[]>;
  readonly healthyIntervalMs: number;
  readonly unhealthyIntervalMs: number;
  readonly healthyStatuses: ReadonlySet<number>;
  readonly unhealthyStatuses: ReadonlySet<number>;
}

export function activeSpec(hc: Healthchecks): ActiveSpec {
  const a = hc.active;
  return {
    // grpc/grpcs are refused at validation (src/schema/entities/upstreams.ts).
    type: a.type === 'tcp' ? 'tcp' : a.type === 'https' ? 'https' : 'http',
    timeoutMs: Math.max(1, a.timeout * 1000),
    concurrency: a.concurrency,
    path: a.http_path,
    sni: a.https_sni ?? null,
    verify: a.https_verify_certificate,
    headers: a.headers ?? {},
    healthyIntervalMs: a.healthy.interval * 1000,
    unhealthyIntervalMs: a.unhealthy.interval * 1000,
    healthyStatuses: new Set(a.healthy.http_statuses),
    unhealthyStatuses: new Set(a.unhealthy.http_statuses),
  };
}

/** One probe of one address. Never rejects. */
export function probe(a: Address, spec: ActiveSpec): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    let req: ClientRequest | null = null;
    const socketOf = { destroy: (): void => undefined };
    const finish = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req?.destroy();
      socketOf.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(OBS_TIMEOUT), spec.timeoutMs);
    if (spec.type === 'tcp') {
      const s = connect({ host: a.ip, port: a.port });
      socketOf.destroy = () => s.destroy();
      s.once('connect', () => finish(OBS_SUCCESS));
      s.once('error', () => finish(OBS_TCP_FAILURE));
      return;
    }
    const host = a.hostName;
    const options = {
      host: a.ip,
      port: a.port,
      method: 'GET',
      path: spec.path,
      headers: { ...spec.headers, host },
      agent: false as const,
    };
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(spec.healthyStatuses.has(status) ? OBS_SUCCESS : spec.unhealthyStatuses.has(status) ? OBS_HTTP_FAILURE : -1);
    };
    const bare = host.startsWith('[') ? host.slice(1, -1) : host;
    req =
      spec.type === 'https'
        ? httpsRequest({ ...options, servername: spec.sni ?? (isIP(bare) === 0 ? bare : undefined), rejectUnauthorized: spec.verify }, onResponse)
        : httpRequest(options, onResponse);
    req.once('error', () => finish(OBS_TCP_FAILURE));
    req.end();
  });
}

/** The probing of one upstream, reading its current balancer's addresses each round. */
export class ActiveProber {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = [false, false];
  private readonly spec: ActiveSpec;
  private readonly balancer: () => Balancer | undefined;
  private readonly report: (key: string, result: number) => void;

  constructor(spec: ActiveSpec, balancer: () => Balancer | undefined, report: (key: string, result: number) => void) {
    this.spec = spec;
    this.balancer = balancer;
    this.report = report;
    if (spec.healthyIntervalMs > 0) this.every(spec.healthyIntervalMs, 0);
    if (spec.unhealthyIntervalMs > 0) this.every(spec.unhealthyIntervalMs, 1);
  }

  private every(ms: number, kind: number): void {
    const t = setInterval(() => void this.round(kind), ms);
    t.unref();
    this.timers.push(t);
  }

  /** kind 0: healthy addresses; 1: unhealthy ones. */
  private async round(kind: number): Promise<void> {
    if (this.running[kind]) return;
    const b = this.balancer();
    if (b === undefined) return;
    const list = b.addresses.filter((a) => (a.health.state >= MOSTLY_UNHEALTHY ? 1 : 0) === kind);
    if (list.length === 0) return;
    this.running[kind] = true;
    try {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < list.length) {
          const a = list[next++]!;
          const result = await probe(a, this.spec);
          if (this.timers.length > 0 && result !== -1) this.report(a.key, result);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.spec.concurrency, list.length) }, worker));
    } finally {
      this.running[kind] = false;
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }
}
