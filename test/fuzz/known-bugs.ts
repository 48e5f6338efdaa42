/**
 * KNOWN_BUGS — differences from llhttp the fuzzer found in our parsers that
 * are NOT accepted leniency: we accept what llhttp refuses, keep a connection
 * llhttp would close, or frame a message otherwise. They are not fixed here
 * (the fuzz work does not touch src/); each is recognised so that the test
 * fails only on a difference nobody knows about.
 *
 * For the integrator: after fixing one, delete its entry. The test checks
 * that every repro below still shows its difference, so a fixed bug left in
 * this list fails the test ("no longer reproduces") until it is removed —
 * and a difference that matches no entry fails it too.
 */
import type { Facts, Verdict } from './compare.ts';

export interface KnownBug {
  id: string;
  side: 'request' | 'response';
  title: string;
  /** A minimal message showing it (latin1), and whether it answers a HEAD request. */
  repro: string;
  head?: boolean;
  /** Does this difference come from this bug? `text` is the case's bytes (latin1). */
  matches(v: Extract<Verdict, { result: 'different' }>, text: string): boolean;
}

const llSays = (f: Facts, ...reasons: string[]): boolean => f.llReason !== null && reasons.some((r) => f.llReason!.startsWith(r));

export const KNOWN_BUGS: KnownBug[] = [
  {
    id: 'proxy-connection-close-request',
    side: 'request',
    title: 'fast lane keeps the connection open on "Proxy-Connection: close"; llhttp treats Proxy-Connection as Connection and closes',
    repro: 'GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n',
    matches: (v, text) => v.reason === 'keep-alive' && /proxy-connection[ \t]*:[^\r\n]*close/i.test(text),
  },
  {
    id: 'connection-close-overwritten',
    side: 'request',
    title: 'fast lane: a later Connection field resets close ("Connection: close" then "Connection: foo" or an empty one); node keeps close and ends the connection',
    repro: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nConnection: x\r\n\r\n',
    matches: (v, text) => v.reason === 'keep-alive' && /\r\nconnection[ \t]*:[^\r\n]*close[^]*?\r\nconnection[ \t]*:/i.test(text),
  },
  {
    id: 'proxy-connection-close-response',
    side: 'response',
    title: 'response parser reuses the connection after "Proxy-Connection: close"; llhttp closes it',
    repro: 'HTTP/1.1 204 OK\r\nProxy-Connection: close\r\n\r\n',
    matches: (v, text) => v.reason === 'we reuse a connection llhttp closes' && v.facts.llKeepAtHead === false && /proxy-connection[ \t]*:[^\r\n]*close/i.test(text),
  },
  {
    id: 'te-with-content-length',
    side: 'response',
    title: 'Transfer-Encoding together with Content-Length is accepted (framed by TE); llhttp refuses it (issue 9 item 2; being made stricter)',
    repro: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
    matches: (v) => llSays(v.facts, "Content-Length can't be present with Transfer-Encoding", "Transfer-Encoding can't be present with Content-Length"),
  },
  {
    id: 'te-empty',
    side: 'response',
    title: 'an empty Transfer-Encoding is accepted (read until close); llhttp refuses it',
    repro: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\nabc',
    matches: (v) => llSays(v.facts, 'Empty Transfer-Encoding'),
  },
  {
    id: 'te-chunked-trailing-htab',
    side: 'response',
    title: 'FRAMING: "Transfer-Encoding: chunked<HTAB>" is framed as chunked by us, as close-delimited by llhttp (its TE matcher skips SP, not HTAB)',
    repro: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n',
    matches: (v, text) =>
      ['close-delimited differs', 'we wait for bytes llhttp does not', 'message ends elsewhere', 'body'].includes(v.reason) &&
      /transfer-encoding[ \t]*:[^\r\n]*\t[ \t]*\r\n/i.test(text),
  },
  {
    id: 'chunk-size-whitespace',
    side: 'response',
    title: 'whitespace (SP, HTAB, even CR) after a chunk size is accepted (String#trimEnd); strict llhttp refuses it (lenient flag kLenientSpacesAfterChunkSize)',
    repro: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0 \r\n\r\n',
    matches: (v) => llSays(v.facts, 'Invalid character in chunk size', 'Expected LF after chunk size'),
  },
  {
    id: 'chunk-extensions-unvalidated',
    side: 'response',
    title: 'chunk extensions are not validated (";", "a = b", "a=b c", unterminated quotes); llhttp refuses (issue 9 item 6; being made stricter)',
    repro: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0;\r\n\r\n',
    matches: (v) => llSays(v.facts, 'Invalid character in chunk extensions'),
  },
  {
    id: 'trailers-unvalidated',
    side: 'response',
    title: 'trailer lines are not validated (bad names, control chars, bare CR, obs-fold); llhttp refuses (issue 9 item 6)',
    repro: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Name: x\r\n\r\n',
    matches: (v) =>
      v.facts.afterHead &&
      llSays(v.facts, 'Invalid header token', 'Invalid header field char', 'Invalid header value char', 'Missing expected LF after header value', 'Unexpected whitespace after header value', 'Expected LF after headers', 'Expected LF after CR', 'Invalid character in Content-Length', 'Duplicate Content-Length', 'Empty Transfer-Encoding'),
  },
  {
    id: 'trailer-framing-field-keeps-alive',
    side: 'response',
    title: 'a Transfer-Encoding / Content-Length field in the trailers makes llhttp close the connection after the message; we reuse it',
    repro: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: x\r\n\r\n',
    matches: (v) => v.reason === 'we reuse a connection llhttp closes' && v.facts.llKeepAtHead === true,
  },
  {
    id: 'header-value-ctl',
    side: 'response',
    title: 'control characters other than CR/LF/NUL (VT, FF, 0x01–0x1f, DEL) in a response field value are accepted and relayed; llhttp refuses',
    repro: 'HTTP/1.1 200 OK\r\nX: a\x0bb\r\nContent-Length: 0\r\n\r\n',
    matches: (v) => !v.facts.afterHead && llSays(v.facts, 'Invalid header value char'),
  },
  {
    id: 'content-length-list',
    side: 'response',
    title: 'a Content-Length list of one repeated value ("5, 5", or two equal fields) is accepted (RFC 9110 §8.6 allows it); llhttp refuses it — same framing, more lenient',
    repro: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx',
    matches: (v) => !v.facts.afterHead && llSays(v.facts, 'Invalid character in Content-Length', 'Duplicate Content-Length'),
  },
  {
    id: 'interim-closes-connection',
    side: 'response',
    title: 'a 1xx that ends the connection (HTTP/1.0 1xx, or "Connection: close") is skipped and the final response still read; llhttp refuses the bytes after it',
    repro: 'HTTP/1.0 100 Continue\r\n\r\nHTTP/1.1 204 OK\r\n\r\n',
    matches: (v) => llSays(v.facts, 'Data after `Connection: close`'),
  },
  {
    id: 'proto-header-dropped',
    side: 'response',
    title: 'a "__proto__" response field is silently dropped (plain-object assignment); node keeps it as a header',
    repro: 'HTTP/1.1 200 OK\r\n__proto__: x\r\nContent-Length: 0\r\n\r\n',
    matches: (v) => v.reason === 'headers' && v.detail.includes('__proto__'),
  },
];

/** The known bug a difference comes from, if any. */
export function knownBug(side: 'request' | 'response', v: Extract<Verdict, { result: 'different' }>, text: string): KnownBug | undefined {
  return KNOWN_BUGS.find((b) => b.side === side && b.matches(v, text));
}
