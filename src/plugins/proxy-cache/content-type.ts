/**
 * Matching the upstream's Content-Type against `config.content_type`
 * (Kong 3.2+, kong/plugins/proxy-cache/handler.lua with kong.tools.mime_type):
 * type and subtype compared case-insensitively, `*` in the configured value
 * matches any type or subtype, and the parameters must be the same set
 * (names case-insensitive; the `charset` value case-insensitive too). So
 * `application/json` does not match `application/json; charset=utf-8`.
 */
export interface MediaType {
  readonly type: string;
  readonly subtype: string;
  readonly params: ReadonlyMap<string, string>;
}

/** RFC 9110 §8.3.1 media-type, or null when it does not parse. */
export function parseMediaType(value: string): MediaType | null {
  const parts = value.split(';');
  const essence = parts[0]!.trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash <= 0 || slash === essence.length - 1) return null;
  const type = essence.slice(0, slash).trim();
  const subtype = essence.slice(slash + 1).trim();
  if (type === '' || subtype === '' || /[\s/]/.test(type + subtype)) return null;
  const params = new Map<string, string>();
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    const eq = p.indexOf('=');
    if (eq === -1) continue;
    const name = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (name === 'charset') v = v.toLowerCase();
    if (name !== '') params.set(name, v);
  }
  return { type, subtype, params };
}

export function mediaTypeMatches(expected: MediaType, actual: MediaType): boolean {
  if (expected.type !== '*' && expected.type !== actual.type) return false;
  if (expected.subtype !== '*' && expected.subtype !== actual.subtype) return false;
  if (expected.params.size !== actual.params.size) return false;
  for (const [k, v] of expected.params) if (actual.params.get(k) !== v) return false;
  return true;
}
