/**
 * HTTP field syntax (RFC 9110 §5.1, §5.5), shared by both sides of the
 * proxy's HTTP/1.1 code: field names are tokens; field values are HTAB, SP,
 * visible ASCII and obs-text — never CR, LF or NUL.
 *
 * Names repeat from request to request, so names already found valid are
 * remembered (a Set lookup is a third of a regular-expression test); the
 * set is bounded so hostile traffic cannot grow it.
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const KNOWN_MAX = 512;
const known = new Set<string>();

export function isFieldName(name: string): boolean {
  if (known.has(name)) return true;
  if (!TOKEN.test(name)) return false;
  if (known.size < KNOWN_MAX) known.add(name);
  return true;
}

export function isFieldValue(value: string): boolean {
  return !BAD_VALUE.test(value);
}

/** ASCII lower case, without a copy when there is nothing to change. */
export function lowerAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}
