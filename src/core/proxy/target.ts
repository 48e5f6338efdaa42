/**
 * Where one try of a request goes: the peer (a balanced upstream target, or
 * the service's own host), the Host header the gateway sets for it, and the
 * keep-alive pool for that origin and TLS setup (pools.ts). Used for every
 * try of a request, WebSocket handshakes included.
 *
 * Kong: kong/runloop/balancer (set_host_header, the `host_header` of an
 * upstream), nginx proxy_ssl_name $upstream_host (SNI from Host), and
 * lua_ssl_trusted_certificate = system unless the service names
 * ca_certificates.
 */
import { isIP } from 'node:net';
import type { HeaderBag } from '../context.ts';
import type { Runtime } from '../runtime-types.ts';
import type { ServiceEntity } from '../../schema/entities/types.ts';
import type { H1Pool } from '../upstream/h1-pool.ts';
import type { Address } from './balancer/address.ts';
import { hostHeaderFor } from './headers.ts';
import { poolEntryFor, poolFor, poolKey, usePool, type PoolEntry, type PoolSpec } from './pools.ts';

export function isTls(protocol: string): boolean {
  return protocol === 'https' || protocol === 'wss' || protocol === 'grpcs' || protocol === 'tls';
}

/** TLS SNI from the Host header (nginx proxy_ssl_name $upstream_host); none for IP literals. */
export function sniFrom(host: string): string | null {
  let name = host;
  if (name.startsWith('[')) return null;
  const colon = name.lastIndexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  return name === '' || isIP(name) !== 0 ? null : name;
}

/**
 * The trust store for a service with tls_verify: its ca_certificates, or
 * null for the system store (Kong 3: lua_ssl_trusted_certificate = system).
 */
export function trustedCas(runtime: Runtime, service: ServiceEntity): string[] | null {
  if (service.tls_verify !== true || service.ca_certificates === null || service.ca_certificates.length === 0) return null;
  const ca: string[] = [];
  for (const id of service.ca_certificates) {
    const pem = runtime.caCertificates.get(id);
    if (pem !== undefined) ca.push(pem);
  }
  return ca;
}

interface UpstreamPeer {
  host: string;
  port: number;
  /** Name for the Host header (upstream host_header, the target's host, or the service host). */
  hostName: string;
}

/** The service's own host and port (no upstream entity). */
function servicePeer(service: ServiceEntity): UpstreamPeer {
  let host = service.host;
  let hostName = host;
  if (host.startsWith('[')) host = host.slice(1, -1);
  else if (host.indexOf(':') !== -1) hostName = `[${host}]`;
  return { host, port: service.port, hostName };
}

/**
 * A plain-HTTP service without an upstream entity always goes to the same
 * pool with the same gateway Host header: both are kept per service entity
 * (a new configuration version brings new entity objects), so the common
 * request skips the peer, pool spec and pool key it would otherwise build.
 */
interface PlainTarget {
  readonly host: string;
  readonly port: number;
  readonly connectTimeout: number;
  readonly entry: PoolEntry;
  /** The Host header the gateway sets (hostHeaderFor). */
  readonly hostHeader: string;
}

const plainTargets = new WeakMap<ServiceEntity, PlainTarget>();

function plainTarget(service: ServiceEntity): PlainTarget {
  const cached = plainTargets.get(service);
  if (cached !== undefined && !cached.entry.closed && cached.host === service.host && cached.port === service.port && cached.connectTimeout === service.connect_timeout) {
    return cached;
  }
  const peer = servicePeer(service);
  const spec: PoolSpec = {
    protocol: 'http:',
    host: peer.host,
    port: peer.port,
    servername: null,
    connectTimeout: service.connect_timeout,
    tlsVerify: false,
    ca: null,
    caKey: '',
  };
  const t: PlainTarget = {
    host: service.host,
    port: service.port,
    connectTimeout: service.connect_timeout,
    entry: poolEntryFor(spec),
    hostHeader: hostHeaderFor(peer.hostName, peer.port, false),
  };
  plainTargets.set(service, t);
  return t;
}

/**
 * The pool for a try of a request to `service`: the balanced `address`
 * (picked by the Exchange, balancer/) or, without an upstream entity, the
 * service's own host. When `setHost` (the Host is the gateway's: neither
 * preserve_host nor a plugin chose one), the Host header for that peer is
 * written into `headers`. Null only when a cached pool was closed meanwhile
 * and cannot be replaced (never in practice).
 */
export function nextPool(runtime: Runtime, service: ServiceEntity, address: Address | null, headers: HeaderBag, setHost: boolean): H1Pool | null {
  const tls = isTls(service.protocol);
  if (!tls) {
    if (address === null) {
      const t = plainTarget(service);
      if (setHost) headers['host'] = t.hostHeader;
      return usePool(t.entry)!; // plainTarget() never hands out a closed entry
    }
    return plainAddressPool(address, service, headers, setHost);
  }
  const peer: UpstreamPeer = address !== null ? { host: address.ip, port: address.port, hostName: address.hostName } : servicePeer(service);
  if (setHost) headers['host'] = hostHeaderFor(peer.hostName, peer.port, tls);
  const ca = trustedCas(runtime, service);
  const hostHeader = headers['host'];
  const spec: PoolSpec = {
    protocol: 'https:',
    host: peer.host,
    port: peer.port,
    servername: sniFrom(typeof hostHeader === 'string' ? hostHeader : peer.hostName),
    connectTimeout: service.connect_timeout,
    tlsVerify: service.tls_verify === true,
    ca,
    caKey: ca === null ? '' : service.ca_certificates!.join(','),
  };
  return poolFor(spec, poolKey(spec));
}

/** Plain HTTP to a balanced address: its pool entry and Host header are kept on the address (as plainTarget does per service). */
function plainAddressPool(address: Address, service: ServiceEntity, headers: HeaderBag, setHost: boolean): H1Pool | null {
  let entry = address.plainEntry;
  if (entry === null || entry.closed || address.plainConnectTimeout !== service.connect_timeout) {
    const spec: PoolSpec = {
      protocol: 'http:',
      host: address.ip,
      port: address.port,
      servername: null,
      connectTimeout: service.connect_timeout,
      tlsVerify: false,
      ca: null,
      caKey: '',
    };
    entry = poolEntryFor(spec);
    address.plainEntry = entry;
    address.plainConnectTimeout = service.connect_timeout;
    address.plainHostHeader = hostHeaderFor(address.hostName, address.port, false);
  }
  if (setHost) headers['host'] = address.plainHostHeader;
  return usePool(entry);
}
