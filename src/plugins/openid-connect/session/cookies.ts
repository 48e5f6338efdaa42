/**
 * Cookie plumbing for sessions: parsing the request's Cookie header
 * (RFC 6265 §5.4), writing Set-Cookie values (RFC 6265 §4.1), chunking large
 * values across several cookies and hiding the session cookies from the
 * upstream.
 *
 * Chunks follow lua-resty-session 4 (Kong): the first cookie is `<name>`, the
 * following ones `<name>2` … `<name>9`. Browsers cap a cookie's name and value
 * at 4096 bytes; we keep `name=value` within 4000 so attribute-heavy cookies
 * stay under every browser's limit, which is what keeps large Keycloak or
 * Entra ID tokens from breaking the session (and looping through the IdP).
 */

/** Upper bound of `name=value` per cookie. */
export const MAX_COOKIE_SIZE = 4000;
/** Chunks per session (`<name>`, `<name>2` … `<name>9`). */
export const MAX_COOKIES = 9;

export type SameSite = 'Strict' | 'Lax' | 'None' | 'Default';

export interface CookieAttributes {
  path: string;
  domain?: string;
  sameSite: SameSite;
  httpOnly: boolean;
  secure: boolean;
  /** Seconds; sets Max-Age and Expires (persistent cookie). */
  maxAge?: number;
  /** Epoch seconds for Expires (only used with maxAge). */
  now?: number;
}

const EXPIRED = '; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0';

/**
 * Parses a Cookie header into name → value, first occurrence winning (user
 * agents send the cookie with the longest path first, RFC 6265 §5.4 step 2).
 * Never throws.
 */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined || header === '') return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (name === '' || out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out.set(name, value);
  }
  return out;
}

function attributes(a: CookieAttributes): string {
  let s = `; Path=${a.path}`;
  if (a.domain !== undefined && a.domain !== '') s += `; Domain=${a.domain}`;
  if (a.maxAge !== undefined) {
    const now = a.now ?? Math.floor(Date.now() / 1000);
    s += `; Expires=${new Date((now + a.maxAge) * 1000).toUTCString()}; Max-Age=${a.maxAge}`;
  }
  if (a.sameSite !== 'Default') s += `; SameSite=${a.sameSite}`;
  // SameSite=None is ignored by browsers without Secure.
  if (a.secure || a.sameSite === 'None') s += '; Secure';
  if (a.httpOnly) s += '; HttpOnly';
  return s;
}

/** A Set-Cookie value. `value` must already be cookie-safe (we only write base64url). */
export function serializeCookie(name: string, value: string, attrs: CookieAttributes): string {
  return `${name}=${value}${attributes(attrs)}`;
}

/** A Set-Cookie value that deletes the cookie (same Path/Domain, expired). */
export function expireCookie(name: string, attrs: CookieAttributes): string {
  const { maxAge: _m, ...rest } = attrs;
  return `${name}=${attributes(rest)}${EXPIRED}`;
}

export function chunkName(name: string, index: number): string {
  return index === 1 ? name : `${name}${index}`;
}

/**
 * How many cookies a payload of `payloadSize` characters needs when the first
 * cookie also carries a header of `headerSize` characters; null when it does
 * not fit in MAX_COOKIES.
 */
export function chunkCount(nameSize: number, headerSize: number, payloadSize: number): number | null {
  const first = MAX_COOKIE_SIZE - nameSize - 1 - headerSize;
  if (first < 0) return null;
  if (payloadSize <= first) return 1;
  const other = MAX_COOKIE_SIZE - nameSize - 2;
  const n = 1 + Math.ceil((payloadSize - first) / other);
  return n <= MAX_COOKIES ? n : null;
}

/** Splits `payload` into chunk values as chunkCount() counted them. */
export function splitChunks(nameSize: number, headerSize: number, payload: string, count: number): string[] {
  const first = MAX_COOKIE_SIZE - nameSize - 1 - headerSize;
  const other = MAX_COOKIE_SIZE - nameSize - 2;
  const out = [payload.slice(0, first)];
  for (let i = 1, at = first; i < count; i++, at += other) out.push(payload.slice(at, at + other));
  return out;
}

/** Is `cookieName` one of `name`'s cookies (`name`, `name2` … `name9`)? */
export function isChunkOf(cookieName: string, name: string): boolean {
  if (cookieName === name) return true;
  if (cookieName.length !== name.length + 1 || !cookieName.startsWith(name)) return false;
  const d = cookieName.charCodeAt(name.length);
  return d >= 50 /* '2' */ && d <= 57 /* '9' */;
}

/**
 * The Cookie header without the cookies belonging to any of `names` (and
 * their chunks); undefined when nothing is left. Other cookies keep their
 * exact bytes and order.
 */
export function stripCookieHeader(header: string | undefined, names: readonly string[]): string | undefined {
  if (header === undefined || header === '') return undefined;
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = (eq === -1 ? trimmed : trimmed.slice(0, eq)).trim();
    if (names.some((n) => isChunkOf(name, n))) continue;
    kept.push(trimmed);
  }
  return kept.length === 0 ? undefined : kept.join('; ');
}
