/**
 * The fast lane's request-head reader (RFC 9112 §2–§5). It accepts only the
 * plain, common request — HTTP/1.1, a known method, an origin-form target,
 * exactly one Host, well-formed field lines, no body (no Transfer-Encoding,
 * Content-Length absent or 0), no Expect, no Upgrade — and says "not mine"
 * for everything else, which then goes to node:http's parser (llhttp) with
 * its full rules and error answers. Being strict here costs nothing: an
 * unusual request is still served, by the general path.
 *
 * `headers` is built as node:http builds IncomingMessage.headers: lower-case
 * names; set-cookie as a list; cookie joined with "; "; other repeats joined
 * with ", ". Fields node keeps only once (Authorization, Content-Type, …) are
 * handed to node when repeated, so which one wins is decided in one place.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { hasToken, isValidAuthority, lowerAscii as lower, scanFieldLine, type FieldLine } from '../http1/syntax.ts';

export interface RequestHead {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The client asked to close the connection after this response. */
  close: boolean;
  /** The head's field lines as received (for rawHeaders, built on demand). */
  fieldText: string;
}

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
/** Origin-form targets with visible ASCII only. */
const BAD_TARGET = /[^\x21-\x7e]/;
/** node:http keeps the first of these when repeated (IncomingMessage#_addHeaderLine). */
const SINGLE: ReadonlySet<string> = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);
/** node:http's limit: maxHeadersCount 2000 counts names and values, i.e. 1000 field lines. */
const MAX_FIELDS = 1000;
/** The scanner's output, reused (a head is read synchronously). */
const FIELD: FieldLine = { name: '', value: '' };

/**
 * Read the head in `text` (without its final CRLFCRLF). Returns null when
 * the request is not one the fast lane serves.
 */
export function readRequestHead(text: string): RequestHead | null {
  const eol = text.indexOf('\r\n');
  if (eol < 0 || !isServedRequestLine(text, eol)) return null;
  const sp1 = text.indexOf(' ');
  const method = text.slice(0, sp1);
  const url = text.slice(sp1 + 1, eol - 9);

  const headers: IncomingHttpHeaders = {};
  let close = false;
  let hostSeen = false;
  let fields = 0;
  let pos = eol + 2;
  const end = text.length;
  const field = FIELD;
  while (pos < end) {
    pos = scanFieldLine(text, pos, end, field);
    if (pos < 0) return null; // malformed, obs-fold, "Name :": llhttp answers those
    const name = field.name;
    const value = field.value;
    if (++fields > MAX_FIELDS) return null;
    switch (name) {
      case 'host':
        // A second Host, or one another reader could split differently: the general path refuses it (400).
        if (hostSeen || !isValidAuthority(value)) return null;
        hostSeen = true;
        break;
      case 'content-length':
        if (value !== '0') return null;
        break;
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
      // llhttp reads Proxy-Connection like Connection: node decides what it means.
      case 'proxy-connection':
      // Names an Object.prototype member: node decides what such a header means.
      case 'constructor':
      case '__proto__':
        return null;
      case 'connection': {
        const v = lower(value);
        if (v === 'keep-alive') break;
        if (v === 'close') {
          close = true;
          break;
        }
        if (hasToken(v, 'upgrade')) return null;
        // Repeated Connection fields are one list: a close in any of them stands.
        if (hasToken(v, 'close')) close = true;
        break;
      }
    }
    const prev = headers[name];
    if (prev === undefined) {
      headers[name] = name === 'set-cookie' ? [value] : value;
    } else if (SINGLE.has(name)) {
      return null;
    } else if (name === 'set-cookie') {
      (prev as string[]).push(value);
    } else {
      headers[name] = `${prev as string}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  if (!hostSeen) return null;
  return { method, url, headers, close, fieldText: text.slice(eol + 2) };
}

/** The request line `text.slice(0, eol)` is one the fast lane serves (method, origin-form target, HTTP/1.1). */
export function isServedRequestLine(text: string, eol: number): boolean {
  const sp1 = text.indexOf(' ');
  if (sp1 <= 0 || sp1 > eol || !METHODS.has(text.slice(0, sp1))) return false;
  const sp2 = eol - 9;
  if (sp2 <= sp1 + 1 || text.charCodeAt(sp2) !== 32 || !text.startsWith('HTTP/1.1', sp2 + 1)) return false;
  return text.charCodeAt(sp1 + 1) === 47 /* / */ && !BAD_TARGET.test(text.slice(sp1 + 1, sp2));
}

/** rawHeaders as node:http gives them: names as sent, values trimmed, in order. */
export function rawHeadersOf(fieldText: string): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < fieldText.length) {
    let next = fieldText.indexOf('\r\n', pos);
    if (next < 0) next = fieldText.length;
    const colon = fieldText.indexOf(':', pos);
    out.push(fieldText.slice(pos, colon), fieldText.slice(colon + 1, next).replace(/^[ \t]+|[ \t]+$/g, ''));
    pos = next + 2;
  }
  return out;
}
