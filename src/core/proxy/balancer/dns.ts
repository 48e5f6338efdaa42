/**
 * Name resolution for targets given by host name, as Kong's DNS client does
 * it for the balancer (kong/resty/dns/client.lua, kong/runloop/balancer/targets.lua):
 * the hosts file first, then A records, then AAAA when there is no A record
 * (Kong's default `dns_order` LAST,SRV,A,CNAME does not ask for AAAA unless A
 * fails; SRV is not supported here, see `use_srv_name`). A record's TTL
 * says when to ask again (at least 1 s: Kong re-resolves a ttl=0 name on
 * each request, we do it every second); a failure is retried after 30 s
 * (balancers.lua REQUERY_INTERVAL) and shows as DNS_ERROR.
 */
import process from 'node:process';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Resolver } from 'node:dns/promises';

export interface Resolution {
  /** Addresses, sorted (Kong sorts A/AAAA answers by address). Empty on failure. */
  readonly ips: string[];
  /** Seconds until the answer should be refreshed. */
  readonly ttl: number;
  /** Kong's health-data `dns` field: the record type, or the error. */
  readonly source: string;
}

/** balancers.lua REQUERY_INTERVAL: how soon a failed name is asked again. */
export const REQUERY_S = 30;
const MIN_TTL_S = 1;
/** Hosts-file entries do not expire (Kong loads the file once). */
const HOSTS_TTL_S = 10 * 365 * 24 * 3600;

let hosts: Map<string, { v4: string[]; v6: string[] }> | null = null;

function hostsFile(): Map<string, { v4: string[]; v6: string[] }> {
  if (hosts !== null) return hosts;
  hosts = new Map();
  let text = '';
  try {
    text = readFileSync(process.platform === 'win32' ? 'C:\\Windows\\System32\\drivers\\etc\\hosts' : '/etc/hosts', 'utf8');
  } catch {
    return hosts;
  }
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length < 2) continue;
    const family = isIP(fields[0]!);
    if (family === 0) continue;
    for (const name of fields.slice(1)) {
      const key = name.toLowerCase();
      let e = hosts.get(key);
      if (e === undefined) hosts.set(key, (e = { v4: [], v6: [] }));
      (family === 4 ? e.v4 : e.v6).push(fields[0]!);
    }
  }
  return hosts;
}

const resolver = new Resolver({ timeout: 2000, tries: 2 });

/** Kong's error text for the usual failures (kong/resty/dns/client.lua). */
function dnsErrorText(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOTFOUND') return 'dns server error: 3 name error';
  if (code === 'ENODATA') return 'dns client error: 101 empty record received';
  return `dns client error: ${typeof code === 'string' ? code : (err as Error).message}`;
}

function ttlOf(records: Array<{ ttl: number }>): number {
  let ttl = Infinity;
  for (const r of records) ttl = Math.min(ttl, r.ttl);
  return Math.max(MIN_TTL_S, ttl === Infinity ? MIN_TTL_S : ttl);
}

export async function resolveName(name: string): Promise<Resolution> {
  const entry = hostsFile().get(name.toLowerCase());
  if (entry !== undefined) {
    if (entry.v4.length > 0) return { ips: [...entry.v4].sort(), ttl: HOSTS_TTL_S, source: 'A' };
    if (entry.v6.length > 0) return { ips: [...entry.v6].sort(), ttl: HOSTS_TTL_S, source: 'AAAA' };
  }
  let failure: unknown;
  try {
    const a = await resolver.resolve4(name, { ttl: true });
    if (a.length > 0) return { ips: a.map((r) => r.address).sort(), ttl: ttlOf(a), source: 'A' };
  } catch (err) {
    failure = err;
  }
  try {
    const aaaa = await resolver.resolve6(name, { ttl: true });
    if (aaaa.length > 0) return { ips: aaaa.map((r) => r.address).sort(), ttl: ttlOf(aaaa), source: 'AAAA' };
  } catch (err) {
    failure ??= err;
  }
  return { ips: [], ttl: REQUERY_S, source: failure === undefined ? 'dns client error: 101 empty record received' : dnsErrorText(failure) };
}
