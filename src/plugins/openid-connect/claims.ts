/**
 * Claim lookup shared by authorization, consumer mapping and header
 * injection. A claim is addressed by a path (`["realm_access", "roles"]`
 * reads `payload.realm_access.roles`), as Kong's `*_claim` settings are.
 */
import { Buffer } from 'node:buffer';

/**
 * Freeze a claims object all the way down. Claims shared between requests
 * (a cached verification, introspection answer or session) are frozen, so
 * what is derived from them (header encodings, scope words) can be
 * remembered per object.
 */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** Freeze a configured claim path. */
export function claimPath(path: readonly string[]): readonly string[] {
  return Object.freeze([...path]);
}

/** The value at `path`, or undefined when any step is missing. */
export function findClaim(source: unknown, path: readonly string[]): unknown {
  let cur: unknown = source;
  for (let i = 0; i < path.length; i++) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[path[i]!];
    if (cur === undefined || cur === null) return undefined;
  }
  return cur;
}

function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return null;
}

/**
 * A claim as a set of words, Kong's way (`claims.find` then `set.new`): a
 * space-separated string (RFC 8693 §4.2 `scope`), an array of strings, or a
 * scalar. Every value is split on whitespace, so a requirement entry — itself
 * a space-separated set — compares like for like. Null when the claim holds
 * no words (missing, object, empty).
 */
export function claimWords(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  const out: string[] = [];
  const add = (s: string): void => {
    for (const w of s.split(/\s+/)) if (w !== '' && !out.includes(w)) out.push(w);
  };
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = scalarText(v);
      if (t !== null) add(t);
    }
  } else {
    const t = scalarText(value);
    if (t === null) return null;
    add(t);
  }
  return out.length > 0 ? out : null;
}

/** A claim as a list of whole values (groups, consumer identifiers): arrays element-wise, scalars as one value. */
export function claimList(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  const out: string[] = [];
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = scalarText(v);
      if (t !== null && t !== '') out.push(t);
    }
  } else {
    const t = scalarText(value);
    if (t !== null && t !== '') out.push(t);
  }
  return out.length > 0 ? out : null;
}

/**
 * A claim value as a header value, as Kong encodes it: strings as they are,
 * numbers and booleans as text, objects and arrays as JSON then base64.
 */
export function headerValue(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  // A claim can carry user-controlled text: a CR/LF/NUL would split the header (response/request
  // splitting), so such a value is not sent at all.
  if (typeof value === 'string') return /[\r\n\0]/.test(value) ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'object') return null;
  // Claims of a cached verification or session are the same frozen objects on every request:
  // their encoding is computed once.
  const frozen = Object.isFrozen(value);
  if (frozen) {
    const hit = encoded.get(value);
    if (hit !== undefined) return hit;
  }
  const out = Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
  if (frozen && isDeepFrozen(value)) encoded.set(value, out);
  return out;
}

const encoded = new WeakMap<object, string>();

function isDeepFrozen(v: object): boolean {
  if (!Object.isFrozen(v)) return false;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== null && typeof x === 'object' && !isDeepFrozen(x)) return false;
  }
  return true;
}
