/**
 * The health of every balanced address, as this process sees it, and where
 * passive observations go.
 *
 * Kong keeps health-check state in a shared dict (`kong_healthchecks`), one
 * per node: every worker balances with the same state and one worker runs
 * the probes (lua-resty-healthcheck). Here the per-node owner is the
 * HealthOwner (health-owner.ts) of the single process or of the cluster
 * primary; it counts observations, runs active probes and decides states.
 * Each process keeps a cell per address that its balancers read on the hot
 * path (one field read); the owner writes its own cells and, in cluster mode,
 * pushes every change to the workers (src/cluster.ts), which write theirs.
 *
 * A cell outlives configuration versions (keyed by upstream id, target and
 * address), so a new Runtime keeps the state its predecessor had, as Kong's
 * shm outlives a rebuilt balancer.
 */

/** lua-resty-healthcheck's internal states; the first two take traffic. */
export const HEALTHY = 0;
export const MOSTLY_HEALTHY = 1;
export const MOSTLY_UNHEALTHY = 2;
export const UNHEALTHY = 3;

/** What a try tells about an address (resty.healthcheck counter types). */
export const OBS_SUCCESS = 0;
export const OBS_HTTP_FAILURE = 1;
export const OBS_TCP_FAILURE = 2;
export const OBS_TIMEOUT = 3;

export interface HealthCell {
  /** HEALTHY … UNHEALTHY. */
  state: number;
}

/** Shared by addresses of upstreams without health checks: never written. */
export const ALWAYS_HEALTHY: HealthCell = Object.freeze({ state: HEALTHY }) as HealthCell;

const cells = new Map<string, HealthCell>();

/** `upstreamId|hostname:port|ip:port` (IPv6 in brackets): the identity of an address in Kong's checker (ip, port, hostname). */
export function healthKey(upstreamId: string, target: string, ip: string, port: number): string {
  return `${upstreamId}|${target}|${ip.indexOf(':') === -1 ? ip : `[${ip}]`}:${port}`;
}

export function upstreamIdOfKey(key: string): string {
  return key.slice(0, key.indexOf('|'));
}

/** The cell of an address (created healthy: Kong adds targets as healthy). */
export function healthCell(key: string): HealthCell {
  let c = cells.get(key);
  if (c === undefined) {
    c = { state: HEALTHY };
    cells.set(key, c);
  }
  return c;
}

export function setHealthState(key: string, state: number): void {
  healthCell(key).state = state;
}

/** Every cell not in its initial state (the primary sends these to a new worker). */
export function healthStates(): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [k, c] of cells) if (c.state !== HEALTHY) out.push([k, c.state]);
  return out;
}

/** Forget the cells of an upstream whose checker stopped (back to healthy, as Kong clears its checker's data). */
export function clearUpstreamHealth(upstreamId: string): void {
  const prefix = `${upstreamId}|`;
  for (const [k, c] of cells) if (k.startsWith(prefix)) c.state = HEALTHY;
}

/** Where passive observations go: the owner (same process) or the IPC channel to it. */
export type ReportSink = (key: string, observation: number) => void;

const sinks = new Set<ReportSink>();

export function addReportSink(fn: ReportSink): void {
  sinks.add(fn);
}

export function removeReportSink(fn: ReportSink): void {
  sinks.delete(fn);
}

/** A passive observation (real traffic) about an address. */
export function reportPassive(key: string, observation: number): void {
  for (const fn of sinks) fn(key, observation);
}
