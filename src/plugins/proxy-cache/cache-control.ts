/**
 * Cache-Control directives (RFC 9111 §5.2, formerly RFC 7234 §5.2) as the
 * proxy-cache plugin reads them: directive name (lower-cased) → number when
 * the argument is numeric, the argument text otherwise, `true` without one
 * (Kong's parse_directive_header).
 */
export type Directives = ReadonlyMap<string, number | string | true>;

const EMPTY: Directives = new Map();

export function parseDirectives(value: string | string[] | undefined): Directives {
  if (value === undefined) return EMPTY;
  const text = Array.isArray(value) ? value.join(', ') : value;
  if (text === '') return EMPTY;
  const out = new Map<string, number | string | true>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    if (eq === -1) {
      out.set(name, true);
      continue;
    }
    let arg = part.slice(eq + 1).trim();
    // §5.2: the quoted-string form is accepted by recipients.
    if (arg.length >= 2 && arg.startsWith('"') && arg.endsWith('"')) arg = arg.slice(1, -1);
    out.set(name, /^\d+$/.test(arg) ? Number(arg) : arg);
  }
  return out;
}

/** A delta-seconds directive (max-age, s-maxage, …), or null when absent or not a number. */
export function seconds(cc: Directives, name: string): number | null {
  const v = cc.get(name);
  return typeof v === 'number' ? v : null;
}

/**
 * Freshness lifetime of a response in seconds (RFC 9111 §4.2.1): s-maxage,
 * else max-age, else Expires minus now; 0 when none gives a positive value
 * (Kong's resource_ttl). The last Expires wins when several are present.
 */
export function resourceTtl(cc: Directives, expires: string | string[] | undefined, nowMs: number): number {
  let ttl = seconds(cc, 's-maxage') ?? seconds(cc, 'max-age');
  if (ttl === null && expires !== undefined) {
    const last = Array.isArray(expires) ? expires[expires.length - 1] : expires;
    const at = last === undefined ? NaN : Date.parse(last);
    // §5.3: an invalid date (e.g. "0") means already expired.
    ttl = Number.isNaN(at) ? 0 : Math.floor((at - nowMs) / 1000);
  }
  return ttl !== null && ttl > 0 ? ttl : 0;
}
