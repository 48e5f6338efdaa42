/**
 * Origin matching as Kong's cors handler does it: a configured entry made
 * only of `[A-Za-z0-9.:/-]` is a literal origin compared after normalisation
 * (default ports dropped); anything else is a PCRE regex, anchored at both
 * ends (Kong appends `$` and matches anchored at the start), matched against
 * the request origin's host when the entry has no `:`, else against the whole
 * normalised origin.
 */
import { PLAIN_ORIGIN } from './schema.ts';

export interface OriginMatcher {
  /** Normalised literal origin, or null for a regex. */
  readonly domain: string | null;
  readonly regex: RegExp | null;
  /** Match the regex against the host only (the entry has no ':'). */
  readonly byHost: boolean;
}

export interface NormalizedOrigin {
  readonly domain: string;
  readonly host: string;
}

/** Kong's normalize_origin (socket.url.parse): scheme://host[:port], default ports dropped. */
export function normalizeOrigin(origin: string): NormalizedOrigin {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?/.exec(origin);
  if (m === null || m[2] === '') return { domain: origin, host: origin };
  const scheme = m[1]!;
  const host = m[2]!;
  let port: string | undefined = m[3];
  if (port === '') port = undefined;
  if ((scheme === 'http' && port === '80') || (scheme === 'https' && port === '443')) port = undefined;
  return { domain: `${scheme}://${host}${port !== undefined ? ':' + port : ''}`, host };
}

const NEVER = /(?!)/;

export function compileOrigin(entry: string): OriginMatcher {
  const byHost = !entry.includes(':');
  if (PLAIN_ORIGIN.test(entry)) return { domain: normalizeOrigin(entry).domain, regex: null, byHost };
  let source = entry;
  if (!source.endsWith('$')) source += '$';
  if (source.startsWith('^')) source = source.slice(1);
  // PCRE's anchored flag applies to every alternative: `^(?:a|b$)`.
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${source})`);
  } catch {
    // Kong logs the regex error and the entry never matches (e.g. `*` among other origins).
    regex = NEVER;
  }
  return { domain: null, regex, byHost };
}

export function matches(m: OriginMatcher, origin: NormalizedOrigin): boolean {
  if (m.regex !== null) return m.regex.test(m.byHost ? origin.host : origin.domain);
  return m.domain === origin.domain;
}
