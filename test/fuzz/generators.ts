/**
 * Message generators for the differential fuzzer: HTTP/1.1 requests and
 * responses built from a grammar that mixes the common case with the
 * framing edge cases smuggling and response splitting live on, plus a
 * mutator that flips, inserts and deletes bytes of valid messages. All
 * text is latin1 (one char = one byte).
 */
import type { Rng } from './prng.ts';

export interface RequestCase {
  bytes: Buffer;
  /** Where the bytes are split into reads (offsets, sorted). */
  cuts: number[];
  kind: string;
}

export interface ResponseCase extends RequestCase {
  /** The request was HEAD (no body whatever the head says). */
  head: boolean;
  /** Fed to our parser from this offset of `bytes` (the bytes before are not the response's). */
  start: number;
}

const VISIBLE = '!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~';
const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/** Bytes that matter to HTTP/1 framing, for mutations and odd values. */
const INTERESTING = ['\r', '\n', '\0', ' ', '\t', ':', ',', ';', '=', '"', '\\', '0', '1', '5', 'a', 'f', 'F', 'x', '-', '+', '\x7f', '\x80', '\xff', '\x0b', '\x0c', '/', '@', '?', '#', 'H'];

function str(rng: Rng, alphabet: string, min: number, max: number): string {
  let s = '';
  const n = rng.range(min, max);
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
  return s;
}

// ------------------------------------------------------------------ field lines

const NAMES = [
  'Host', 'Accept', 'User-Agent', 'X-Request-Id', 'Cookie', 'Set-Cookie', 'Authorization', 'Content-Type', 'X-Forwarded-For',
  'Connection', 'Keep-Alive', 'Content-Length', 'Transfer-Encoding', 'Expect', 'Upgrade', 'TE', 'Trailer', 'Proxy-Connection',
  'Age', 'ETag', 'Location', 'Referer', 'Server', 'Vary', 'Cache-Control', 'Date',
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'Content-Length ', 'Transfer-Encoding ', ' Host', 'Hos t', 'X\x00Y',
  'X@Y', 'X(Y)', 'X"Y"', 'x-ü\xfc', 'content-length', 'CONTENT-LENGTH', 'transfer-encoding', 'TRANSFER-ENCODING', 'Content_Length', 'Content-Length\t',
];
const CONNECTION_VALUES = [
  'close', 'keep-alive', 'Close', 'CLOSE', 'Keep-Alive', 'close, foo', 'foo, close', 'keep-alive, close', 'close, keep-alive', 'upgrade', 'Upgrade',
  'closex', 'xclose', ' close ', 'close;', 'close;q=1', ',close', 'close,', 'close,,', ', , close', 'clo se', 'close\t', 'te, close', 'keep-alive, upgrade',
  'keepalive', 'keep-alive;', '', 'x-foo', 'close\x00',
];
const CL_VALUES = [
  '0', '0', '0', '5', '3', '10', '5, 5', '5,5', '5 , 5', '5, 6', '+5', '-1', '-0', '05', '00', ' 5', '5 ', '0x5', '5.0', '5a', '',
  '99999999999999999999', '18446744073709551616', '9007199254740993', '1e1', '0, 0', '0,', ',0', '\t0', '0\t0', '٥', '1_0',
];
const TE_VALUES = [
  'chunked', 'chunked', 'Chunked', 'CHUNKED', 'gzip, chunked', 'chunked, gzip', 'gzip', 'identity', 'xchunked', 'chunkedx', 'chunked ',
  ' chunked', 'chunked;q=1', 'chunked, chunked', 'gzip,chunked', 'chunked,', ',chunked', '"chunked"', 'chunk ed', 'deflate', 'chunked\t', '',
  'identity, chunked', 'chunked, identity', 'gzip;q=1, chunked',
];
const HOST_VALUES = ['example.test', 'a.example:8080', 'user@evil.example', 'a b', 'a\tb', '', '[::1]:80', 'ex_ample', 'EXAMPLE.TEST', 'a,b', 'évil', 'x:y:z'];

function fieldValue(rng: Rng, name: string, oddity = 0.3): string {
  const n = name.toLowerCase().trim();
  if (n === 'connection' || n === 'proxy-connection') return rng.pick(CONNECTION_VALUES);
  if (n === 'content-length') return rng.pick(CL_VALUES);
  if (n === 'transfer-encoding') return rng.pick(TE_VALUES);
  if (n === 'host') return rng.pick(HOST_VALUES);
  if (n === 'upgrade') return rng.pick(['websocket', 'h2c', 'foo/1']);
  if (n === 'expect') return rng.pick(['100-continue', 'foo']);
  if (n === 'keep-alive') return rng.pick(['timeout=5', 'timeout=5, max=100', 'timeout = 2', 'timeout=x']);
  return oddValue(rng, oddity);
}

function oddValue(rng: Rng, oddity = 0.3): string {
  if (!rng.chance(oddity * 2)) return str(rng, VISIBLE + ' ', 0, 12).trim();
  return rng.weighted<() => string>([
    [10, () => str(rng, VISIBLE + ' ', 0, 12).trim()],
    [2, () => str(rng, VISIBLE, 1, 4) + rng.pick(['\0', '\r', '\n', '\x7f', '\x0b', '\x01', '\x1f']) + str(rng, VISIBLE, 0, 4)],
    [2, () => str(rng, VISIBLE, 1, 4) + rng.pick([' ', '\t', '  ', ' \t']) + str(rng, VISIBLE, 1, 4)],
    [1, () => '\x80\xe9\xff' + str(rng, VISIBLE, 0, 3)],
    [1, () => ''],
    [1, () => '"quoted, with comma"'],
  ])();
}

/** One field line without its line end: name, separator, value, trailing OWS. */
function fieldLine(rng: Rng, name: string, value: string, oddity = 0.3): string {
  if (!rng.chance(oddity * 3)) return name + rng.pick([': ', ':', ': ']) + value;
  const sep = rng.weighted([[12, ': '], [3, ':'], [1, ':\t'], [1, ':  '], [1, ' : '], [1, ' :'], [1, '\t:']] as const);
  const trail = rng.weighted([[14, ''], [1, ' '], [1, '\t'], [1, ' \t ']] as const);
  return name + sep + value + trail;
}

function lineEnd(rng: Rng, oddity: number): string {
  return rng.chance(oddity) ? rng.pick(['\n', '\r', '\r\r\n', '\n\r', ' \r\n', '\r\n ']) : '\r\n';
}

/** A list of field lines for a message; `framing` decides the body. */
function fieldLines(rng: Rng, request: boolean, oddity: number): string[] {
  const lines: string[] = [];
  if (request) {
    const hosts = rng.weighted([[14, 1], [1, 0], [1, 2]] as const);
    for (let i = 0; i < hosts; i++) lines.push(fieldLine(rng, rng.weighted([[8, 'Host'], [1, 'host'], [1, 'HOST']] as const), rng.chance(0.85) ? 'example.test' : fieldValue(rng, 'host'), oddity));
  }
  const n = rng.weighted([[4, 0], [6, 2], [4, 4], [1, 10]] as const);
  for (let i = 0; i < n; i++) {
    const name = rng.chance(oddity) ? rng.pick(NAMES) : rng.chance(0.7) ? rng.pick(NAMES.slice(0, 26)) : str(rng, TCHAR, 1, 10);
    if (!request && name === 'Host') continue;
    lines.push(fieldLine(rng, name, fieldValue(rng, name, oddity), oddity));
    if (rng.chance(0.08)) lines.push(fieldLine(rng, name, fieldValue(rng, name, oddity), oddity)); // a repeat
    if (rng.chance(oddity / 2)) lines[lines.length - 1] += '\r\n' + rng.pick([' ', '\t', '  ']) + str(rng, VISIBLE, 1, 6); // obs-fold
  }
  // Now and then a head near the size limits (16 KiB downstream, as node:http's default).
  if (rng.chance(0.003)) lines.push('X-Big: ' + 'b'.repeat(rng.range(16_250, 16_420)));
  // Shuffle so Host and framing fields move around.
  for (let i = lines.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  }
  return lines;
}

// ------------------------------------------------------------------ requests

const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
const ODD_METHODS = ['CONNECT', 'TRACE', 'QUERY', 'PRI', 'get', 'Get', 'G ET', 'GETT', 'MKCOL', 'PROPFIND', 'SOURCE', 'ACL', 'X', ''];
const TARGETS = [
  '/', '/a/b?c=1&d=%20', '/index.html', '/p?q#frag', '/a%2fb', '//double', '/a/../b', '/~user', "/!$&'()*+,;=:@", '/"<>{}|\\^`',
  '*', 'http://good.example/path', 'http://evil.example:80@good.example/path', 'http://user:pw@good.example/', 'good.example:443',
  'HTTP://x/', '/a b', '/a\tb', '/\x7f', '/\xfc', '/\x00', '', '?', '/#', '/a?b?c', '/' + 'a'.repeat(300),
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'http/1.1', 'HTTP/11', 'HTTP/1.1 ', 'HTTP/1.1\t', 'HTTP/1', 'HTTP/3.0', 'HTTP/1.10', 'HTTX/1.1'];

function requestLine(rng: Rng, oddity: number): string {
  const method = rng.chance(oddity) ? rng.pick(ODD_METHODS) : rng.pick(METHODS);
  const target = rng.chance(oddity) ? rng.pick(TARGETS) : rng.chance(0.5) ? '/' + str(rng, TCHAR + '/?=&%', 0, 20) : rng.pick(TARGETS.slice(0, 10));
  const version = rng.chance(oddity) ? rng.pick(VERSIONS) : 'HTTP/1.1';
  const sp = () => (rng.chance(oddity / 3) ? rng.pick(['  ', '\t', '']) : ' ');
  return method + sp() + target + sp() + version;
}

/** A request head and what follows it on the connection (a body, a pipelined request, junk). */
function requestText(rng: Rng, oddity: number): string {
  let text = rng.chance(oddity / 4) ? rng.pick(['\r\n', '\n', '\r\n\r\n']) : '';
  text += requestLine(rng, oddity) + lineEnd(rng, oddity / 3);
  for (const line of fieldLines(rng, true, oddity)) text += line + lineEnd(rng, oddity / 6);
  text += lineEnd(rng, oddity / 4);
  // Bytes after the head: a body, part of one, or nothing.
  if (rng.chance(0.2)) text += rng.pick(['hello', '0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n', 'abc']);
  return text;
}

/** Requests: one to four pipelined heads, as a client would send them. */
export function genRequest(rng: Rng): RequestCase {
  const oddity = rng.pick([0, 0.02, 0.1, 0.3]);
  let text = requestText(rng, oddity);
  const follow = rng.weighted([[5, 0], [4, 1], [1, 3]] as const);
  for (let i = 0; i < follow; i++) text += requestText(rng, oddity / 2);
  if (rng.chance(0.05)) text += str(rng, VISIBLE + '\r\n', 1, 10);
  let kind = 'grammar';
  if (rng.chance(0.35)) {
    text = mutate(rng, text);
    kind = 'mutated';
  }
  const bytes = Buffer.from(text, 'latin1');
  return { bytes, cuts: randomCuts(rng, bytes.length), kind };
}

// ------------------------------------------------------------------ responses

const STATUS = [200, 200, 200, 201, 204, 304, 404, 500, 100, 103, 101, 199, 205, 206, 302, 999];
const STATUS_TEXT = ['200', '20', '2000', '099', '0200', 'abc', '-200', ' 200', '2 00', '+20'];

function statusLine(rng: Rng, oddity: number): { line: string; status: number; interim: boolean } {
  const version = rng.chance(oddity) ? rng.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11', 'ICY', 'HTTP/1.01', 'HTTP/0.9']) : rng.chance(0.15) ? 'HTTP/1.0' : 'HTTP/1.1';
  let status = rng.pick(STATUS);
  let code = String(status);
  if (rng.chance(oddity / 2)) {
    code = rng.pick(STATUS_TEXT);
    status = Number(code);
  }
  const reason = rng.weighted([[10, ' OK'], [2, ' '], [2, ''], [1, ' Not Found'], [1, ' O\tK'], [1, ' \xe9t\xe9'], [1, '  OK'], [1, ' OK\x00'], [1, ' OK\x7f'], [1, '\tOK']] as const);
  return { line: version + ' ' + code + reason, status, interim: status >= 100 && status < 200 && status !== 101 };
}

const CHUNK_EXT = [';a=b', ';a', ';a="q"', ';a="q;\\"x"', '; a=b', ';a = b', ';', ';a=', ';="x"', ';a="unterminated', ';a=b;c=d', ';a=b c', '\t;a=b', ' ;a=b', ';a=\x80', ';a=\x00'];

function chunkedBody(rng: Rng, oddity: number): string {
  let out = '';
  const n = rng.range(0, 3);
  for (let i = 0; i < n; i++) {
    const data = str(rng, VISIBLE, 1, 20);
    let size = data.length.toString(16);
    if (rng.chance(oddity)) size = rng.pick([size.toUpperCase(), '0' + size, '00' + size, '0x' + size, size + ' ', ' ' + size, size + '\t', '+' + size, '-' + size, size + 'g', (data.length + 1).toString(16), (data.length - 1).toString(16), 'fffffffffffffff', '']);
    const ext = rng.chance(oddity + 0.05) ? rng.pick(CHUNK_EXT) : '';
    out += size + ext + lineEnd(rng, oddity / 3) + data + (rng.chance(oddity / 3) ? rng.pick(['', '\n', '\r', 'x\r\n']) : '\r\n');
  }
  out += (rng.chance(oddity / 2) ? rng.pick(['00', '000', '0 ', '0\t']) : '0') + (rng.chance(oddity) ? rng.pick(CHUNK_EXT) : '') + lineEnd(rng, oddity / 3);
  const trailers = rng.weighted([[8, 0], [2, 1], [1, 2]] as const);
  for (let i = 0; i < trailers; i++) {
    const name = rng.chance(oddity) ? rng.pick(['Content-Length', 'Transfer-Encoding', 'Connection', 'Bad Name', 'X\x00', 'X :']) : rng.pick(['X-Trailer', 'Expires', 'Server-Timing']);
    out += fieldLine(rng, name, oddValue(rng, oddity), oddity) + lineEnd(rng, oddity / 3);
    if (rng.chance(oddity / 2)) out += ' folded\r\n';
  }
  if (!rng.chance(oddity / 4)) out += lineEnd(rng, oddity / 3);
  return out;
}

function responseText(rng: Rng, oddity: number): string {
  const { line, status } = statusLine(rng, oddity);
  let text = line + lineEnd(rng, oddity / 3);
  const lines = fieldLines(rng, false, oddity).filter((l) => !/^(content-length|transfer-encoding)/i.test(l));
  // Framing: the body as its fields say (or, at times, not).
  const framing = rng.weighted([[5, 'length'], [4, 'chunked'], [2, 'none'], [2, 'both'], [1, 'te-odd'], [1, 'cl-odd']] as const);
  const body = str(rng, VISIBLE + '\r\n', 0, 24);
  let after = '';
  if (framing === 'length' || framing === 'both') {
    const n = rng.chance(oddity) ? body.length + rng.range(-2, 2) : body.length;
    lines.push(fieldLine(rng, rng.pick(['Content-Length', 'content-length']), String(Math.max(0, n)), oddity));
    if (rng.chance(oddity / 2)) lines.push(fieldLine(rng, 'Content-Length', rng.pick([String(n), String(n + 1), '0']), oddity));
  }
  if (framing === 'cl-odd') lines.push(fieldLine(rng, 'Content-Length', rng.pick(CL_VALUES), oddity));
  if (framing === 'chunked' || framing === 'both' || framing === 'te-odd') {
    lines.push(fieldLine(rng, rng.pick(['Transfer-Encoding', 'transfer-encoding']), framing === 'te-odd' ? rng.pick(TE_VALUES) : 'chunked', oddity));
    if (rng.chance(oddity / 2)) lines.push(fieldLine(rng, 'Transfer-Encoding', rng.pick(TE_VALUES), oddity));
  }
  if (framing === 'chunked' || framing === 'both' || (framing === 'te-odd' && rng.chance(0.7))) after = chunkedBody(rng, oddity);
  else after = body;
  for (let i = lines.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  }
  for (const l of lines) text += l + lineEnd(rng, oddity / 6);
  text += lineEnd(rng, oddity / 4);
  if (status >= 100 && status < 200 && rng.chance(0.8)) after = '';
  return text + after;
}

/** Responses: an optional 1xx, the response, then what follows on the connection. */
export function genResponse(rng: Rng): ResponseCase {
  const oddity = rng.pick([0, 0.02, 0.1, 0.3]);
  let text = '';
  if (rng.chance(0.08)) text += rng.pick(['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n', 'HTTP/1.0 100 Continue\r\n\r\n', 'HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n']);
  text += responseText(rng, oddity);
  const follow = rng.weighted([[6, 0], [3, 1], [1, 2]] as const);
  for (let i = 0; i < follow; i++) text += rng.chance(0.8) ? responseText(rng, oddity / 2) : str(rng, VISIBLE + '\r\n', 1, 10);
  let kind = 'grammar';
  if (rng.chance(0.35)) {
    text = mutate(rng, text);
    kind = 'mutated';
  }
  // Sometimes the response starts inside a larger buffer (execute's `start`).
  const prefix = rng.chance(0.1) ? str(rng, VISIBLE + '\r\n', 1, 8) : '';
  const bytes = Buffer.from(prefix + text, 'latin1');
  const cuts = randomCuts(rng, bytes.length).filter((c) => c > prefix.length);
  return { bytes, cuts, kind, head: rng.chance(0.1), start: prefix.length };
}

// ------------------------------------------------------------------ mutation and splitting

/** One to four byte-level edits: replace, insert, delete, duplicate a range, change case. */
export function mutate(rng: Rng, text: string): string {
  let s = text;
  const edits = rng.range(1, 4);
  for (let e = 0; e < edits; e++) {
    if (s.length === 0) break;
    const at = rng.int(s.length);
    const byte = () => (rng.chance(0.7) ? rng.pick(INTERESTING) : String.fromCharCode(rng.int(256)));
    switch (rng.int(6)) {
      case 0:
        s = s.slice(0, at) + byte() + s.slice(at + 1);
        break;
      case 1:
        s = s.slice(0, at) + byte() + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at + rng.range(1, 3));
        break;
      case 3: {
        const len = rng.range(1, 12);
        s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at);
        break;
      }
      case 4: {
        const c = s[at]!;
        s = s.slice(0, at) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + s.slice(at + 1);
        break;
      }
      default:
        s = s.slice(0, at) + rng.pick(['\r\n', '\n', '\r', '\r\n\r\n', ', ', ';']) + s.slice(at);
    }
  }
  return s;
}

/** Read boundaries: half the time one read, else up to five random splits. */
export function randomCuts(rng: Rng, length: number): number[] {
  if (length < 2 || rng.chance(0.5)) return [];
  const cuts: number[] = [];
  const n = rng.range(1, 5);
  for (let i = 0; i < n; i++) cuts.push(rng.range(1, length - 1));
  return [...new Set(cuts)].sort((a, b) => a - b);
}
