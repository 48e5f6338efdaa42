/**
 * HTTP syntax shared by both sides of the proxy's HTTP/1.1 code
 * (src/core/downstream, src/core/upstream) and the retry rules of forward.ts:
 * field names are tokens; field values are HTAB, SP, visible ASCII and
 * obs-text — never CR, LF or NUL (RFC 9110 §5.1, §5.5); list-valued fields
 * (§5.6.1); chunked framing (RFC 9112 §7.1); idempotent methods (§9.2.2).
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

/** `name: value` lines (CRLF-terminated; a list repeats the field), or null when a value is not a field value. */
export function fieldLines(name: string, value: string | readonly string[]): string | null {
  if (typeof value === 'string') return isFieldValue(value) ? name + ': ' + value + '\r\n' : null;
  let lines = '';
  for (const v of value) {
    if (!isFieldValue(v)) return null;
    lines += name + ': ' + v + '\r\n';
  }
  return lines;
}

/** A comma-separated list field (already lower case) contains `token` (RFC 9110 §5.6.1). */
export function hasToken(lowerList: string, token: string): boolean {
  if (lowerList === token) return true;
  for (const t of lowerList.split(',')) if (t.trim() === token) return true;
  return false;
}

/** A Transfer-Encoding value whose final coding is chunked (RFC 9112 §6.3). */
export function lastCodingIsChunked(value: string): boolean {
  const comma = value.lastIndexOf(',');
  return (comma < 0 ? value : value.slice(comma + 1)).trim().toLowerCase() === 'chunked';
}

/** RFC 9110 §9.2.2: methods whose request may be repeated after it went out. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Writable enough for chunked framing (a net.Socket). */
interface ChunkSink {
  cork(): void;
  uncork(): void;
  write(chunk: Buffer | string, encoding?: BufferEncoding): boolean;
}

/** One chunk of a chunked body (RFC 9112 §7.1), in one corked write. `byteLength` > 0. Returns the socket's write result. */
export function writeChunk(socket: ChunkSink, chunk: Buffer | string, byteLength: number): boolean {
  socket.cork();
  socket.write(byteLength.toString(16) + '\r\n', 'latin1');
  socket.write(chunk);
  const ok = socket.write('\r\n', 'latin1');
  socket.uncork();
  return ok;
}

/** ASCII lower case, without a copy when there is nothing to change. */
export function lowerAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}
