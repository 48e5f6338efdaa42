/**
 * Host and SNI conditions of a route (Kong Proxy Reference, "Using wildcard
 * hostnames"; kong/router/transform.lua `get_expression`).
 *
 * - `example.com`     exact
 * - `*.example.com`   leading wildcard: any host ending in `.example.com`
 *                     (`a.example.com`, `x.y.example.com`, not `example.com`)
 * - `example.*`       trailing wildcard: any host starting with `example.`
 * - `example.com:8000` (hosts only) also requires the port the client
 *   addressed to be 8000; without a port any port matches.
 *
 * Host names are case-insensitive (RFC 3986 §3.2.2): route hosts are
 * lower-cased here, the request host arrives lower-cased.
 */

export type NameKind = 'exact' | 'suffix' | 'prefix';

export interface NameCondition {
  kind: NameKind;
  /** exact: the name; suffix: ".example.com"; prefix: "example." */
  value: string;
  /** Required port, or null for any. */
  port: number | null;
}

/**
 * Kong's split_host_port: the part after the first `:` is a port only when
 * it is a number; otherwise the whole string is the host.
 */
function splitHostPort(raw: string): { host: string; port: number | null } {
  const colon = raw.indexOf(':');
  if (colon === -1) return { host: raw, port: null };
  const rest = raw.slice(colon + 1);
  if (!/^\d+$/.test(rest)) return { host: raw, port: null };
  return { host: raw.slice(0, colon), port: Number(rest) };
}

function classify(name: string, port: number | null): NameCondition {
  if (name.charCodeAt(0) === 42 /* * */) return { kind: 'suffix', value: name.slice(1), port };
  if (name.charCodeAt(name.length - 1) === 42) return { kind: 'prefix', value: name.slice(0, -1), port };
  return { kind: 'exact', value: name, port };
}

export function parseHostCondition(raw: string): NameCondition {
  const { host, port } = splitHostPort(raw.trim().toLowerCase());
  return classify(host, port);
}

/** Route SNIs: a trailing dot of an FQDN is not used for routing (transform.lua sni_val_transform). */
export function parseSniCondition(raw: string): NameCondition {
  let name = raw.trim().toLowerCase();
  if (name.length > 1 && name.endsWith('.')) name = name.slice(0, -1);
  return classify(name, null);
}

export function hasWildcard(raw: string): boolean {
  return raw.includes('*');
}

export function nameMatches(cond: NameCondition, name: string): boolean {
  switch (cond.kind) {
    case 'exact':
      return name === cond.value;
    case 'suffix':
      return name.length > cond.value.length && name.endsWith(cond.value);
    case 'prefix':
      return name.length > cond.value.length && name.startsWith(cond.value);
  }
}

export function anyHostMatches(conds: readonly NameCondition[], host: string, port: number): boolean {
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i]!;
    if ((c.port === null || c.port === port) && nameMatches(c, host)) return true;
  }
  return false;
}

export function anyNameMatches(conds: readonly NameCondition[], name: string): boolean {
  for (let i = 0; i < conds.length; i++) if (nameMatches(conds[i]!, name)) return true;
  return false;
}
