/**
 * Request path normalisation before routing, as Kong 3.x does it
 * (kong/tools/uri.lua `normalize(uri, true)`, called from the router's
 * `strip_uri_args`). Kong's Proxy Reference, "Normalization behavior":
 *
 *   1. percent-encoded triplets are upper-cased      (/foo%3a   → /foo%3A)
 *   2. triplets of unreserved characters are decoded (/fo%6F    → /foo)
 *   3. dot segments are removed                      (/a/./b/../c → /a/c)
 *   4. duplicate slashes are merged                  (/foo//bar → /foo/bar)
 *
 * Only unreserved characters (RFC 3986 §2.3) are decoded (§6.2.2.2): decoding
 * a reserved one (`%2F`, `%3F`…) would change what the path means. Decoding
 * happens before dot-segment removal, so `/%2e%2e/` is a `..` segment.
 *
 * Characters that may not appear raw in a request target (space, `"`, `|`,
 * non-ASCII…) are percent-encoded, as Kong's `uri.escape` does before
 * forwarding, so the result is always a valid origin-form path and can be
 * sent upstream as is. Route paths go through the same function, so a route
 * written either way matches either spelling.
 *
 * `null` means the request must be answered 400, as nginx (in front of Kong's
 * Lua code) does: a `%` not followed by two hex digits, an encoded NUL
 * (`%00`), a path that does not start with `/`, or a `..` that climbs above
 * the root (nginx `ngx_http_parse_complex_uri` → NGX_HTTP_PARSE_INVALID_REQUEST).
 */
import { Buffer } from 'node:buffer';

/** RFC 3986 §2.3 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
const UNRESERVED = new Uint8Array(128);
/** Characters kept raw in a path: unreserved, reserved (§2.2) and `%` (Kong's uri.escape allow-list). */
const ALLOWED_RAW = new Uint8Array(128);
{
  const mark = (table: Uint8Array, chars: string): void => {
    for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  };
  const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  mark(UNRESERVED, alnum + '-._~');
  mark(ALLOWED_RAW, alnum + '-._~' + "!#$&'()*+,/:;=?@[]" + '%');
}

const HEX = '0123456789ABCDEF';

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 65 && code <= 70) return code - 55; // A-F
  if (code >= 97 && code <= 102) return code - 87; // a-f
  return -1;
}

export function isUnreservedChar(code: number): boolean {
  return code < 128 && UNRESERVED[code] === 1;
}

/** Percent-encode one code point as UTF-8 triplets. */
function encodeCodePoint(cp: number): string {
  if (cp < 0x80) return '%' + HEX[cp >> 4]! + HEX[cp & 15]!;
  const bytes = Buffer.from(String.fromCodePoint(cp), 'utf8');
  let out = '';
  for (const b of bytes) out += '%' + HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/**
 * Steps 1 and 2 (plus escaping of characters not allowed raw). Returns null
 * for a malformed or NUL escape. `escapeDecoded` lets the regex-path variant
 * escape a decoded character that is a regex metacharacter.
 */
function normalizeEncoding(path: string, escapeDecoded: ((ch: string) => string) | null): string | null {
  let out = '';
  let last = 0;
  const n = path.length;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */) {
      const hi = i + 1 < n ? hexValue(path.charCodeAt(i + 1)) : -1;
      const lo = i + 2 < n ? hexValue(path.charCodeAt(i + 2)) : -1;
      if (hi < 0 || lo < 0) return null;
      const v = (hi << 4) | lo;
      if (v === 0) return null;
      out += path.slice(last, i);
      if (v < 128 && UNRESERVED[v] === 1) {
        const ch = String.fromCharCode(v);
        out += escapeDecoded !== null ? escapeDecoded(ch) : ch;
      } else {
        out += '%' + HEX[hi]! + HEX[lo]!;
      }
      i += 2;
      last = i + 1;
    } else if (c >= 128 || ALLOWED_RAW[c] !== 1) {
      if (escapeDecoded !== null && c < 128 && c > 32) continue; // regex syntax (\ ^ | { } …) stays as written
      out += path.slice(last, i);
      const cp = path.codePointAt(i)!;
      out += encodeCodePoint(cp);
      if (cp > 0xffff) i++;
      last = i + 1;
    }
  }
  return last === 0 ? path : out + path.slice(last);
}

/**
 * Steps 3 and 4 on a path starting with `/`: RFC 3986 §5.2.4 remove_dot_segments
 * with empty segments merged; a trailing slash (or trailing `.`/`..`) is kept as
 * a trailing slash. Null when `..` climbs above the root.
 */
function removeDotSegmentsAndMergeSlashes(path: string): string | null {
  const segments = path.split('/');
  const out: string[] = [];
  const lastIndex = segments.length - 1;
  let trailingSlash = false;
  for (let i = 1; i <= lastIndex; i++) {
    const seg = segments[i]!;
    const isLast = i === lastIndex;
    if (seg === '' || seg === '.') {
      if (isLast) trailingSlash = true;
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
      if (isLast) trailingSlash = true;
      continue;
    }
    out.push(seg);
  }
  if (out.length === 0) return '/';
  const joined = '/' + out.join('/');
  return trailingSlash ? joined + '/' : joined;
}

function needsDotOrSlashWork(path: string): boolean {
  return path.includes('//') || path.includes('/.');
}

/**
 * Normalise a request target's path for routing. The query (from the first
 * `?`) is not part of the result. Absolute-form targets (`http://host/p`) must
 * be reduced to their path by the caller first.
 */
export function normalizePath(rawPath: string): string | null {
  const q = rawPath.indexOf('?');
  return normalizeRoutePath(q === -1 ? rawPath : rawPath.slice(0, q));
}

/**
 * The same normalisation for a plain (prefix) route path, which has no query
 * to cut: Kong normalises route paths with the function it applies to
 * requests, so both spellings meet.
 */
export function normalizeRoutePath(path: string): string | null {
  if (path.charCodeAt(0) !== 47 /* / */) return null;
  if (path.length === 1) return path;
  const encoded = normalizeEncoding(path, null);
  if (encoded === null) return null;
  return needsDotOrSlashWork(encoded) ? removeDotSegmentsAndMergeSlashes(encoded) : encoded;
}

const REGEX_META = /[.\\^$|?*+()[\]{}-]/;

/**
 * Kong's normalisation of a regex route path (Proxy Reference, "Normalization
 * behavior"): only steps 1 and 2, and a decoded character that is a regex
 * metacharacter is escaped with a backslash (`%2E` → `\.`). The regex source
 * is given without its leading `~`. Malformed escapes are left as written
 * (the schema rejects them before they reach the router).
 */
export function normalizeRegexPath(source: string): string {
  const out = normalizeEncoding(source, (ch) => (REGEX_META.test(ch) ? '\\' + ch : ch));
  return out ?? source;
}
