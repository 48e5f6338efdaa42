/**
 * The HTTP/1 codec's syntax, shared by every HTTP/1.1 reader and writer of
 * the proxy path — the downstream fast lane (src/core/downstream), the
 * upstream client (src/core/upstream) and WebSocket upgrades, which go
 * through that client: field names are tokens; field values are HTAB, SP,
 * visible ASCII and obs-text — never CR, LF or NUL (RFC 9110 §5.1, §5.5);
 * one field-line scanner; list-valued fields (§5.6.1); the framing fields
 * and who may write them (docs/ARCHITECTURE.md, "Framing invariants");
 * chunked framing (RFC 9112 §7.1); idempotent methods (§9.2.2).
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

// ------------------------------------------------------------------ field lines

/** One field line as scanned by scanFieldLine (reused: no allocation per line). */
export interface FieldLine {
  /** Lower-cased name. */
  name: string;
  /** Value without leading/trailing whitespace (OWS). */
  value: string;
}

/**
 * The one field-line parser (RFC 9112 §5): reads `name ":" OWS value OWS`
 * from `text` at `pos` (lines end with CRLF; the head's last line may end at
 * `end`) into `out`. Returns the offset of the next line, or -1 when the line
 * is malformed: no colon, an empty name or one that is not a token (this also
 * refuses obs-fold and whitespace before the colon, §5.1–§5.2), or a value
 * with a control character (bare CR or LF, NUL).
 */
export function scanFieldLine(text: string, pos: number, end: number, out: FieldLine): number {
  let next = text.indexOf('\r\n', pos);
  if (next < 0 || next > end) next = end;
  const colon = text.indexOf(':', pos);
  if (colon <= pos || colon >= next) return -1;
  // Lower-cased first: the token check then hashes the string that becomes the key (hash kept).
  const name = lowerAscii(text.slice(pos, colon));
  if (!isFieldName(name)) return -1;
  let a = colon + 1;
  let b = next;
  while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
  while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
  const value = text.slice(a, b);
  if (!isFieldValue(value)) return -1;
  out.name = name;
  out.value = value;
  return next + 2;
}

// ------------------------------------------------------------------ framing

/**
 * Fields that frame a message or manage its connection (RFC 9110 §7.6.1,
 * RFC 9112 §6, §9.6). Only the codec writes them: the upstream client
 * (h1-request-head.ts) for requests, the response writers (fast lane, node:http) for
 * answers. A value set by a plugin or taken from the other side of the proxy
 * is never written as is (docs/ARCHITECTURE.md, "Framing invariants").
 */
export const FRAMING_FIELDS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
]);

const DIGITS = /^\d{1,15}$/;

/**
 * A Content-Length value (RFC 9110 §8.6): digits only, at most 15 of them;
 * -1 otherwise. A list ("5, 5") is refused even when its members agree:
 * RFC 9110 lets a recipient accept it, but llhttp refuses it and nginx
 * ≥ 1.23 answers 502 to an upstream that sends one, so no reader downstream
 * of us could be relied on to read it the same way.
 */
export function parseContentLength(value: string): number {
  return DIGITS.test(value) ? Number(value) : -1;
}

/**
 * The only Transfer-Encoding the proxy accepts on a message it frames:
 * exactly `chunked` (any case). RFC 9112 §6.3 lets a response with another
 * final coding be read until the connection closes, and a request with one
 * must be refused; relaying such a body without its coding would hand the
 * next hop bytes it cannot frame, so the gateway refuses both, as nginx
 * ("upstream sent unknown Transfer-Encoding", 502) does.
 */
export function isChunkedOnly(value: string): boolean {
  return value.length === 7 ? value.toLowerCase() === 'chunked' : value.trim().toLowerCase() === 'chunked';
}

/**
 * chunk-ext (RFC 9112 §7.1.1): `*( ";" name [ "=" ( token / quoted-string ) ] )`.
 * The BWS the grammar allows around ";" and "=" is refused, as strict llhttp
 * refuses it: whitespace inside framing is where readers disagree.
 */
const CHUNK_EXT = /^(?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"))?)*$/;

/** The chunk extensions after a chunk size ('' when none) are well-formed. */
export function isChunkExtension(ext: string): boolean {
  return ext === '' || CHUNK_EXT.test(ext);
}

/**
 * A Host field value or an absolute-form authority (RFC 9112 §3.2, RFC 3986
 * §3.2): `host [ ":" port ]` with a reg-name, IPv4 or bracketed IP literal.
 * No userinfo (`@`), whitespace, path or control characters: a value that
 * two readers could split differently is refused (400).
 */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

export function isValidAuthority(value: string): boolean {
  return AUTHORITY.test(value);
}

// ------------------------------------------------------------------ serializer

/** A response head (status line, fields, blank line); null when a field cannot be written. */
export function responseHead(status: number, reason: string, headers: Readonly<Record<string, string | readonly string[] | undefined>>): string | null {
  let head = 'HTTP/1.1 ' + status + ' ' + reason + '\r\n';
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (!isFieldName(name)) return null;
    const lines = fieldLines(name, value);
    if (lines === null) return null;
    head += lines;
  }
  return head + '\r\n';
}
