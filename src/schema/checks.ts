/**
 * Kong's custom field validators (kong/db/schema/typedefs.lua and
 * kong/tools/utils.lua), one function per typedef. Each returns null when the
 * value is valid, or Kong's error message for it. Schemas name them through
 * the `kong.check` annotation (see typedefs.ts); the Ajv keyword in ajv.ts
 * runs them.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';

export type CheckName =
  | 'uuid'
  | 'host'
  | 'host_with_optional_port'
  | 'route_host'
  | 'wildcard_host'
  | 'sni'
  | 'ip'
  | 'ip_or_cidr'
  | 'path'
  | 'router_path'
  | 'url'
  | 'header_name'
  | 'route_header_name'
  | 'name'
  | 'utf8_name'
  | 'tag'
  | 'http_method'
  | 'upstream_name'
  | 'target'
  | 'cookie_name'
  | 'certificate'
  | 'key';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return value.length === 36 && UUID_RE.test(value);
}

export interface NormalizedIp {
  type: 'ipv4' | 'ipv6' | 'name';
  host: string;
  port: number | null;
}

/**
 * kong.tools.utils.normalize_ip: classify an address as ipv4, ipv6 or name,
 * splitting an optional port. Returns Kong's error strings on failure.
 */
export function normalizeIp(address: string): { ok: true; value: NormalizedIp } | { ok: false; error: string } {
  // ipv6 in brackets with optional port, or bare ipv6 (more than one colon)
  if (address.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
    if (!m || isIP(m[1]!) !== 6) return { ok: false, error: `invalid ipv6 address: ${address}` };
    const port = m[2] === undefined ? null : Number(m[2]);
    if (port !== null && port > 65535) return { ok: false, error: 'invalid port number' };
    return { ok: true, value: { type: 'ipv6', host: m[1]!.toLowerCase(), port } };
  }
  const colons = address.split(':').length - 1;
  if (colons > 1) {
    if (isIP(address) !== 6) return { ok: false, error: `invalid ipv6 address: ${address}` };
    return { ok: true, value: { type: 'ipv6', host: address.toLowerCase(), port: null } };
  }
  let name = address;
  let port: number | null = null;
  const pm = /:(\d+)$/.exec(address);
  if (pm) {
    name = address.slice(0, address.length - pm[0].length);
    port = Number(pm[1]);
    if (port > 65535) return { ok: false, error: 'invalid port number' };
  } else if (colons === 1) {
    return { ok: false, error: `invalid hostname: ${address}` };
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    if (isIP(name) !== 4) return { ok: false, error: `invalid ipv4 address: ${address}` };
    return { ok: true, value: { type: 'ipv4', host: name, port } };
  }
  if (!/^[0-9A-Za-z\-._]+$/.test(name)) return { ok: false, error: `invalid hostname: ${address}` };
  // Reject leading/trailing dashes in a label and empty labels (a final dot is allowed: FQDN).
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label.endsWith('-') || (label === '' && i !== labels.length - 1)) {
      return { ok: false, error: `invalid hostname: ${address}` };
    }
  }
  return { ok: true, value: { type: 'name', host: name, port } };
}

function validateHost(host: string): string | null {
  const r = normalizeIp(host);
  if (!r.ok) return r.error === 'invalid port number' ? 'must not have a port' : `invalid value: ${host}`;
  if (r.value.port !== null) return 'must not have a port';
  return null;
}

function validateSni(host: string): string | null {
  const r = normalizeIp(host);
  if (!r.ok && r.error !== 'invalid port number') return `invalid value: ${host}`;
  if (r.ok && r.value.type !== 'name') return 'must not be an IP';
  if (!r.ok || r.value.port !== null) return 'must not have a port';
  return null;
}

function validateWildcardHost(host: string): string | null {
  const idx = host.indexOf('*');
  let h = host;
  if (idx !== -1) {
    if (idx !== 0 && idx !== host.length - 1) return 'wildcard must be leftmost or rightmost character';
    if (host.split('*').length - 1 > 1) return 'only one wildcard must be specified';
    h = host.replace('*', 'wildcard');
  }
  return validateSni(h);
}

/** Route hosts: at most one wildcard, at the leftmost or rightmost label; an optional port. */
function validateRouteHost(host: string): string | null {
  if (!/^[^*]*\*?[^*]*$/.test(host)) return 'invalid wildcard: must have at most one wildcard';
  if (!(/^\*\./.test(host) || /\.\*$/.test(host) || /^[^*]*$/.test(host))) {
    return 'invalid wildcard: must be placed at leftmost or rightmost label';
  }
  const r = normalizeIp(host.replaceAll('*', 'abc'));
  return r.ok ? null : r.error;
}

function validateIp(ip: string): string | null {
  return isIP(ip) !== 0 ? null : `not an ip address: ${ip}`;
}

function validateIpOrCidr(value: string): string | null {
  const slash = value.indexOf('/');
  if (slash === -1) return isIP(value) !== 0 ? null : `invalid ip or cidr range: '${value}'`;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  const family = isIP(ip);
  const max = family === 4 ? 32 : family === 6 ? 128 : -1;
  if (max === -1 || !/^\d{1,3}$/.test(bits) || Number(bits) > max) return `invalid ip or cidr range: '${value}'`;
  return null;
}

const PATH_CHARS = /^\/[A-Za-z0-9.\-_~/%:@!$&'()*+,;=]*$/;

/** typedefs.path's custom validator: RFC 3986 characters, valid percent-encoding. */
function validatePathChars(path: string): { error: string; code: 'rfc3986' | 'percent' } | null {
  if (!PATH_CHARS.test(path)) {
    return { error: `invalid path: '${path}' (characters outside of the reserved list of RFC 3986 found)`, code: 'rfc3986' };
  }
  const raw = path.replace(/%[0-9A-Fa-f]{2}/g, '___');
  const pct = raw.indexOf('%');
  if (pct !== -1) return { error: `invalid url-encoded value: '${raw.slice(pct, pct + 3)}'`, code: 'percent' };
  return null;
}

function validatePath(path: string): string | null {
  // typedefs.path: starts_with "/", match_none "//", then the custom validator
  if (!path.startsWith('/')) return 'should start with: /';
  if (path.includes('//')) return 'must not have empty segments';
  return validatePathChars(path)?.error ?? null;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * kong.tools.uri.normalize(path, true): decode percent-encoded unreserved
 * characters, upper-case the remaining escapes, remove dot segments
 * (RFC 3986 §6.2.2 and §5.2.4).
 */
export function normalizePath(path: string): string {
  let out = path.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
  if (out.includes('.')) out = removeDotSegments(out);
  return out;
}

function removeDotSegments(input: string): string {
  const segments = input.split('/');
  const output: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg === '.') {
      if (i === segments.length - 1) output.push('');
      continue;
    }
    if (seg === '..') {
      if (output.length > 1) output.pop();
      if (i === segments.length - 1) output.push('');
      continue;
    }
    output.push(seg);
  }
  return output.join('/');
}

/** typedefs.router_path: "/" prefix paths or "~/" regex paths (Kong 3.x). */
function validateRouterPath(path: string): string | null {
  if (path.includes('//')) return 'must not have empty segments';
  if (!(path.startsWith('/') || path.startsWith('~/'))) return 'should start with: / (fixed path) or ~/ (regex path)';
  const chars = validatePathChars(path);
  if (chars !== null && chars.code === 'percent') return chars.error;
  if (!path.startsWith('~')) {
    const normalized = normalizePath(path);
    if (normalized !== path) return `non-normalized path, consider use '${normalized}' instead`;
    return null;
  }
  const source = path.slice(1);
  const err = regexError(source);
  if (err !== null) return `invalid regex: '${source}' (PCRE returned: ${err})`;
  return null;
}

/**
 * Kong compiles route regexes with PCRE; the router here uses JavaScript
 * RegExp, so that is the engine a path must compile with. PCRE-only named
 * group syntax (?P<name>…) is accepted by translating it first.
 */
export function regexError(source: string): string | null {
  try {
    new RegExp(source.replace(/\(\?P</g, '(?<'), 'u');
    return null;
  } catch (err) {
    return (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
  }
}

/** LuaSocket's url.parse, as Kong's url typedef and service `url` shorthand use it. */
export interface ParsedUrl {
  scheme: string | null;
  host: string | null;
  port: string | null;
  path: string | null;
}

export function parseUrl(url: string): ParsedUrl {
  let rest = url;
  const parsed: ParsedUrl = { scheme: null, host: null, port: null, path: null };
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const sm = /^([A-Za-z0-9][A-Za-z0-9+\-.]*):/.exec(rest);
  if (sm) {
    parsed.scheme = sm[1]!.toLowerCase();
    rest = rest.slice(sm[0].length);
  }
  const am = /^\/\/([^/?]*)/.exec(rest);
  if (am) {
    let authority = am[1]!;
    rest = rest.slice(am[0].length);
    const at = authority.lastIndexOf('@');
    if (at !== -1) authority = authority.slice(at + 1);
    const pm = /:([^:\]]*)$/.exec(authority);
    if (pm) {
      parsed.port = pm[1]!;
      authority = authority.slice(0, authority.length - pm[0].length);
    }
    if (authority !== '') {
      const v6 = /^\[(.+)\]$/.exec(authority);
      parsed.host = v6 ? v6[1]! : authority;
    }
  }
  const q = rest.indexOf('?');
  if (q !== -1) rest = rest.slice(0, q);
  const semi = rest.indexOf(';');
  if (semi !== -1) rest = rest.slice(0, semi);
  if (rest !== '') parsed.path = rest;
  return parsed;
}

function validateUrl(url: string): string | null {
  const p = parseUrl(url);
  if (p.host === null) return 'missing host in url';
  if (p.scheme === null) return 'missing scheme in url';
  return null;
}

function validateHeaderName(name: string): string | null {
  if (name === '') return 'no header name provided';
  if (/^[a-zA-Z0-9\-_]+$/.test(name)) return null;
  return `bad header name '${name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`;
}

function validateRouteHeaderName(name: string): string | null {
  const err = validateHeaderName(name);
  if (err !== null) return err;
  if (/^host$/i.test(name)) return "cannot contain 'host' header, which must be specified in the 'hosts' attribute";
  return null;
}

function utf8Error(value: string): string | null {
  if (value.isWellFormed()) return null;
  for (let i = 0; i < value.length; i++) {
    if (!value.slice(0, i + 1).isWellFormed()) return `invalid utf-8 character sequence detected at position ${i + 1}`;
  }
  return 'invalid utf-8 character sequence detected';
}

function validateName(name: string): string | null {
  if (!/^[A-Za-z0-9.\-_~]+$/.test(name)) {
    return `invalid value '${name}': it must only contain alphanumeric and '., -, _, ~' characters`;
  }
  return null;
}

function validateUtf8Name(name: string): string | null {
  const err = utf8Error(name);
  if (err !== null) return err;
  if (!/^[A-Za-z0-9.\-_~\u0080-\u{10FFFF}]+$/u.test(name)) {
    return `invalid value '${name}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`;
  }
  return null;
}

function validateTag(tag: string): string | null {
  const err = utf8Error(tag);
  if (err !== null) return err;
  // printable ASCII except ',' and '/', plus non-ASCII (Kong's validate_tag)
  if (!/^[ !-+\-.0-~\u0080-\u{10FFFF}]+$/u.test(tag)) {
    return `invalid tag '${tag}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`;
  }
  return null;
}

function validateUpstreamName(name: string): string | null {
  const r = normalizeIp(name);
  if (!r.ok) return `Invalid name ('${name}'); must be a valid hostname`;
  if (r.value.type !== 'name') return `Invalid name ('${name}'); no ip addresses allowed`;
  if (r.value.port !== null) return `Invalid name ('${name}'); no port allowed`;
  return null;
}

function validateTarget(target: string): string | null {
  const r = normalizeIp(target);
  if (!r.ok) return `Invalid target ('${target}'); not a valid hostname or ip address`;
  return null;
}

/** RFC 6265 cookie-name = token (RFC 7230 tchar). */
function validateCookieName(name: string): string | null {
  if (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return null;
  return `bad cookie name '${name}', allowed characters are A-Z, a-z, 0-9, '_', '-', '!', '#', '$', '%', '&', ''', '*', '+', '.', '^', '\`', '|', and '~'`;
}

function validateCertificate(pem: string): string | null {
  try {
    new X509Certificate(pem);
    return null;
  } catch (err) {
    return `invalid certificate: ${(err as Error).message}`;
  }
}

function validateKey(pem: string): string | null {
  try {
    createPrivateKey(pem);
    return null;
  } catch (err) {
    return `invalid key: ${(err as Error).message}`;
  }
}

const CHECKS: Record<CheckName, (value: string) => string | null> = {
  uuid: (v) => (isUuid(v) ? null : 'expected a valid UUID'),
  host: validateHost,
  host_with_optional_port: (v) => {
    const r = normalizeIp(v);
    return r.ok ? null : r.error;
  },
  route_host: validateRouteHost,
  wildcard_host: validateWildcardHost,
  sni: validateSni,
  ip: validateIp,
  ip_or_cidr: validateIpOrCidr,
  path: validatePath,
  router_path: validateRouterPath,
  url: validateUrl,
  header_name: validateHeaderName,
  route_header_name: validateRouteHeaderName,
  name: validateName,
  utf8_name: validateUtf8Name,
  tag: validateTag,
  http_method: (v) => (/^[A-Z]+$/.test(v) ? null : `invalid value: ${v}`),
  upstream_name: validateUpstreamName,
  target: validateTarget,
  cookie_name: validateCookieName,
  certificate: validateCertificate,
  key: validateKey,
};

/** Run a named check on a string value; non-strings are the type check's business. */
export function runCheck(name: CheckName, value: unknown): string | null {
  if (typeof value !== 'string') return null;
  return CHECKS[name](value);
}
