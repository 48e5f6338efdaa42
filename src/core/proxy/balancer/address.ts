/**
 * A target (Kong's `targets` entity, one `host:port` with a weight) and the
 * addresses it resolves to. An IP target has one address; a host name has
 * one per A (or AAAA) record, each with the target's weight, as Kong's
 * balancer adds them (kong/runloop/balancer/balancers.lua addAddress).
 */
import { isIP } from 'node:net';
import type { TargetEntity } from '../../../schema/entities/types.ts';
import type { PoolEntry } from '../pools.ts';
import { ALWAYS_HEALTHY, healthCell, healthKey, type HealthCell } from './health-state.ts';

/** Kong's default target port. */
const DEFAULT_TARGET_PORT = 8000;

export interface ParsedTarget {
  /** Host (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Host as written in the target, for the Host header (IPv6 in brackets). */
  readonly hostHeader: string;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` → parts (Kong's target syntax). */
export function parseTarget(target: string): ParsedTarget {
  let host: string;
  let port = DEFAULT_TARGET_PORT;
  if (target.startsWith('[')) {
    const close = target.indexOf(']');
    host = target.slice(1, close);
    if (target.charCodeAt(close + 1) === 58 /* : */) port = Number(target.slice(close + 2));
    return { host, port, hostHeader: `[${host}]` };
  }
  const colon = target.lastIndexOf(':');
  if (colon !== -1 && target.indexOf(':') === colon) {
    host = target.slice(0, colon);
    port = Number(target.slice(colon + 1));
  } else {
    host = target; // a bare IPv6 address has several colons and no port
  }
  return { host, port, hostHeader: host.indexOf(':') !== -1 ? `[${host}]` : host };
}

export class TargetState {
  readonly entity: TargetEntity;
  /** Host name or IP (IPv6 without brackets): Kong's `target.name`. */
  readonly name: string;
  readonly port: number;
  readonly weight: number;
  /** A host name (resolved through DNS), not an IP literal. */
  readonly isName: boolean;
  /** For the Host header (IPv6 in brackets). */
  readonly hostHeader: string;
  addresses: Address[];
  /** Kong's `dns` field of the health data: record type used, or why resolution failed. */
  dns: string;
  /** Resolution failed (no addresses): DNS_ERROR in the health endpoint. */
  dnsError: boolean;

  constructor(entity: TargetEntity) {
    const p = parseTarget(entity.target);
    this.entity = entity;
    this.name = p.host;
    this.port = p.port;
    this.weight = entity.weight;
    this.hostHeader = p.hostHeader;
    const family = isIP(p.host);
    this.isName = family === 0;
    this.addresses = [];
    this.dns = family === 6 ? 'AAAA' : 'A';
    this.dnsError = false;
  }

  /** `name:port` as Kong keys its health data (IPv6 in brackets: the entity's `target`). */
  get key(): string {
    return this.entity.target;
  }
}

export class Address {
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  readonly target: TargetState;
  /** Identity in the health state (health-state.ts healthKey). */
  readonly key: string;
  /** This address's health (ALWAYS_HEALTHY when the upstream runs no checks). */
  readonly health: HealthCell;
  /** The Host header name: the upstream's host_header, else the target's host (Kong setHostHeader). */
  readonly hostName: string;

  /** Tries in flight (least-connections; Kong's connectionCount). */
  connections: number;
  /** Latency EWMA in seconds and when it was last updated (ms, performance.now()). */
  ewma: number;
  ewmaAt: number;

  /** Cached plain-HTTP pool and Host header for the usual try (target.ts). */
  plainEntry: PoolEntry | null;
  plainConnectTimeout: number;
  plainHostHeader: string;

  constructor(upstreamId: string, target: TargetState, ip: string, checked: boolean, hostHeader: string | null) {
    this.ip = ip;
    this.port = target.port;
    this.weight = target.weight;
    this.target = target;
    this.key = healthKey(upstreamId, target.key, ip, target.port);
    this.health = checked ? healthCell(this.key) : ALWAYS_HEALTHY;
    this.hostName = hostHeader ?? target.hostHeader;
    this.connections = 0;
    this.ewma = 0;
    this.ewmaAt = 0;
    this.plainEntry = null;
    this.plainConnectTimeout = -1;
    this.plainHostHeader = '';
  }
}
