/**
 * The differential comparisons: our parser and llhttp fed the same bytes,
 * the results classified as
 *   same           — both accept with the same framing decision, or both refuse;
 *   ours-stricter  — we refuse (or close the connection) where llhttp accepts:
 *                    an allowed, documented difference in leniency (docs/ARCHITECTURE.md,
 *                    "Differential fuzzing against llhttp"), tallied per reason;
 *   different      — we accept what llhttp refuses, or frame it otherwise: a failure.
 *
 * Requests: the fast lane's reader only takes or leaves a head; when it takes
 * one, llhttp must read the same head, with no body, the same keep-alive
 * decision, and end the message at the same byte. Each pipelined follow-up the
 * lane would also read is compared in turn.
 */
import { IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { readRequestHead, rawHeadersOf } from '../../src/core/downstream/request-head.ts';
import { ResponseParser, type ResponseSink } from '../../src/core/upstream/h1-response.ts';
import type { HeaderValues } from '../../src/core/upstream/types.ts';
import { runLlhttp, type LlMessage, type LlResult } from './llhttp.ts';
import type { RequestCase, ResponseCase } from './generators.ts';

export type Verdict =
  | { result: 'same'; reason: string }
  | { result: 'ours-stricter'; reason: string }
  | { result: 'different'; reason: string; detail: string; facts: Facts };

/** What known-bug matching (known-bugs.ts) looks at in a difference. */
export interface Facts {
  /** llhttp's error reason, when it refused. */
  llReason: string | null;
  /** llhttp had read the (final) head before it refused: the error is in the body or trailers. */
  afterHead: boolean;
  /** llhttp's keep-alive answer at the end of the head. */
  llKeepAtHead: boolean | null;
}


/** The gateway's downstream header limit (src/core/server.ts default); llhttp is given the same. */
export const REQUEST_MAX_HEADER = 16 * 1024;
/** The upstream client's response head limit (src/core/proxy/pools.ts). */
export const RESPONSE_MAX_HEAD = 64 * 1024;

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

// ------------------------------------------------------------------ requests

export type LaneRead =
  | { kind: 'incomplete' }
  | { kind: 'not-mine' }
  | { kind: 'accept'; method: string; url: string; headers: IncomingHttpHeaders; rawHeaders: string[]; close: boolean; end: number };

/** What the fast lane (fast-lane.ts, Connection#next) does with the bytes from `off`: the same three steps. */
export function laneRead(buf: Buffer, off: number): LaneRead {
  const end = buf.indexOf(CRLFCRLF, off);
  if (end < 0) return { kind: 'incomplete' };
  const head = end - off <= REQUEST_MAX_HEADER ? readRequestHead(buf.toString('latin1', off, end)) : null;
  if (head === null) return { kind: 'not-mine' };
  return { kind: 'accept', method: head.method, url: head.url, headers: head.headers, rawHeaders: rawHeadersOf(head.fieldText), close: head.close, end: end + 4 };
}

/** IncomingMessage.headers as node:http builds them from llhttp's raw list. */
export function nodeHeaders(raw: string[]): IncomingHttpHeaders {
  const im = new IncomingMessage(null as never) as IncomingMessage & { _addHeaderLines(h: string[], n: number): void };
  im._addHeaderLines(raw, raw.length);
  return im.headers;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

function headersDiff(ours: Record<string, unknown>, theirs: Record<string, unknown>): string | null {
  const ka = Object.keys(ours).sort();
  const kb = Object.keys(theirs).sort();
  if (ka.join('\n') !== kb.join('\n')) return `header names ${JSON.stringify(ka)} vs llhttp ${JSON.stringify(kb)}`;
  for (const k of ka) if (!sameValue(ours[k], theirs[k])) return `header ${k}: ${JSON.stringify(ours[k])} vs llhttp ${JSON.stringify(theirs[k])}`;
  return null;
}

/** Compare one message the lane accepted (at `off`, ending at `read.end`) with llhttp from `off`. */
export function compareAcceptedRequest(buf: Buffer, off: number, read: Extract<LaneRead, { kind: 'accept' }>, cuts: readonly number[]): Verdict {
  const bytes = buf.subarray(off);
  const e = read.end - off;
  const rel = cuts.map((c) => c - off).filter((c) => c > 0 && c < e - 1);
  const r = runLlhttp('request', bytes, [...rel, e - 1, e], { maxHeaderSize: REQUEST_MAX_HEADER, probeAfter: () => true });
  const m = r.messages[0];
  const diff = (reason: string, detail: string): Verdict => ({
    result: 'different',
    reason,
    detail,
    facts: { llReason: r.error?.reason ?? null, afterHead: m !== undefined, llKeepAtHead: m?.shouldKeepAlive ?? null },
  });
  if (m === undefined || m.completeIn === null) {
    if (r.error !== null) return diff(`lane accepts, llhttp ${r.error.code}`, `${r.error.reason} at ${r.error.offset}`);
    return diff('lane accepts, llhttp reads no complete message', describe(r));
  }
  if (m.completeIn[1] !== e || m.completeIn[0] !== e - 1) return diff('message ends elsewhere', `lane ends at ${e}, llhttp completed within [${m.completeIn.join(', ')}]`);
  if (m.upgrade) return diff('llhttp sees an upgrade', '');
  if (m.body.length > 0) return diff('llhttp reads a body', JSON.stringify(Buffer.concat(m.body).toString('latin1')));
  if (m.versionMajor !== 1 || m.versionMinor !== 1) return diff('version', `${m.versionMajor}.${m.versionMinor}`);
  if (m.method !== read.method) return diff('method', `${read.method} vs llhttp ${m.method}`);
  if (m.url !== read.url) return diff('url', `${JSON.stringify(read.url)} vs llhttp ${JSON.stringify(m.url)}`);
  const h = headersDiff(read.headers as Record<string, unknown>, nodeHeaders(m.rawHeaders) as Record<string, unknown>);
  if (h !== null) return diff('headers', h);
  if (!sameValue(read.rawHeaders, m.rawHeaders)) return diff('rawHeaders', `${JSON.stringify(read.rawHeaders)} vs llhttp ${JSON.stringify(m.rawHeaders)}`);
  if (m.shouldKeepAlive === read.close || r.keepAliveAfter === read.close) {
    return diff('keep-alive', `lane close=${read.close}, llhttp shouldKeepAlive=${m.shouldKeepAlive} after=${r.keepAliveAfter}`);
  }
  return { result: 'same', reason: 'lane accepts, llhttp agrees' };
}

/** All the messages the lane would read from `c` in turn; one verdict each. */
export function compareRequestCase(c: RequestCase): Verdict[] {
  const out: Verdict[] = [];
  let off = 0;
  for (;;) {
    const read = laneRead(c.bytes, off);
    if (read.kind === 'incomplete') {
      if (off === 0) out.push({ result: 'same', reason: 'incomplete head (lane waits)' });
      return out;
    }
    if (read.kind === 'not-mine') {
      const r = runLlhttp('request', c.bytes.subarray(off), [], { maxHeaderSize: REQUEST_MAX_HEADER, probeAfter: () => true });
      const ok = r.messages[0]?.completeIn != null;
      out.push({ result: 'ours-stricter', reason: ok ? 'handed to node:http (llhttp accepts)' : 'handed to node:http (llhttp refuses)' });
      return out;
    }
    out.push(compareAcceptedRequest(c.bytes, off, read, c.cuts));
    if (read.close || out[out.length - 1]!.result !== 'same') return out;
    off = read.end;
  }
}

// ------------------------------------------------------------------ responses

export interface OursResponse {
  outcome: 'complete' | 'error' | 'incomplete';
  reason: string;
  status: number;
  headers: HeaderValues;
  body: Buffer;
  /** Offset (from the response's start) the message ended at. */
  end: number;
  atEof: boolean;
  keepAlive: boolean;
}

class Sink implements ResponseSink {
  status = 0;
  headers: HeaderValues = {};
  heads = 0;
  body: Buffer[] = [];
  complete = false;
  onHead(status: number, headers: HeaderValues): boolean {
    this.heads++;
    this.status = status;
    this.headers = headers;
    return true;
  }
  onBody(chunk: Buffer): boolean {
    this.body.push(Buffer.from(chunk));
    return true;
  }
  onComplete(): void {
    this.complete = true;
  }
}

/** Our ResponseParser over the case's reads, then end of stream (finish) when still waiting. */
export function runOurs(c: ResponseCase): OursResponse {
  const parser = new ResponseParser(RESPONSE_MAX_HEAD);
  parser.reset(c.head);
  const sink = new Sink();
  const res = (outcome: OursResponse['outcome'], reason: string, end: number, atEof: boolean): OursResponse => ({
    outcome,
    reason,
    status: sink.status,
    headers: sink.headers,
    body: Buffer.concat(sink.body),
    end: end - c.start,
    atEof,
    keepAlive: parser.keepAlive,
  });
  const bounds = [...c.cuts.filter((x) => x > c.start && x < c.bytes.length), c.bytes.length];
  let from = 0;
  try {
    for (const to of bounds) {
      if (to <= from) continue;
      // The first read carries the bytes before the response too: parsed from `start`.
      const buf = c.bytes.subarray(from, to);
      const at = parser.execute(buf, from === 0 ? c.start : 0, sink);
      if (sink.complete) return res('complete', 'complete', from + at, false);
      if (at !== buf.length) return res('error', `execute stopped at ${at} of ${buf.length} without completing`, from + at, false);
      from = to;
    }
    parser.finish(sink);
  } catch (err) {
    return res('error', String((err as Error).message).replace(/^invalid upstream response: /, ''), -1, false);
  }
  if (sink.complete) return res('complete', 'complete', c.bytes.length, true);
  return res('incomplete', 'incomplete at end of stream', -1, false);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'proxy-connection', 'upgrade']);

/**
 * llhttp's end-to-end fields as our parser hands them on: Content-Length is
 * the parser's own decision (the number the body is framed by, "05" → "5"),
 * and none on a 204 (docs/ARCHITECTURE.md, "Framing invariants").
 */
function endToEndHeaders(raw: string[], status: number): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    if (name === 'content-length') {
      if (status !== 204) out[name] = [String(Number(raw[i + 1]!.trim()))];
      continue;
    }
    (out[name] ??= []).push(raw[i + 1]!);
  }
  return out;
}

function oursEndToEnd(h: HeaderValues): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  for (const name of Object.keys(h)) {
    if (HOP_BY_HOP.has(name)) continue;
    const v = h[name];
    if (v !== undefined) out[name] = typeof v === 'string' ? [v] : [...v];
  }
  return out;
}

const interim = (m: LlMessage): boolean => m.status >= 100 && m.status < 200 && m.status !== 101;

function describe(r: LlResult): string {
  return JSON.stringify({ messages: r.messages.map((m) => ({ status: m.status, method: m.method, completeIn: m.completeIn, atEof: m.atEof })), error: r.error });
}

/** Compare our ResponseParser with llhttp on one response case. */
export function compareResponseCase(c: ResponseCase): Verdict {
  const ours = runOurs(c);
  const bytes = c.bytes.subarray(c.start);
  const rel = c.cuts.map((x) => x - c.start).filter((x) => x > 0 && x < bytes.length);
  const e = ours.outcome === 'complete' && !ours.atEof ? ours.end : -1;
  const cuts = e > 0 ? [...rel.filter((x) => x < e - 1), e - 1, e] : rel;
  const r = runLlhttp('response', bytes, cuts, { maxHeaderSize: RESPONSE_MAX_HEAD, headRequest: c.head, probeAfter: (m) => !interim(m) });
  const m = r.messages.find((x) => !interim(x));
  const theirs: 'complete' | 'upgrade' | 'error' =
    m === undefined ? 'error' : m.upgrade || m.status === 101 ? 'upgrade' : m.completeIn !== null ? 'complete' : 'error';
  const diff = (reason: string, detail: string): Verdict => ({
    result: 'different',
    reason,
    detail,
    facts: { llReason: r.error?.reason ?? null, afterHead: m !== undefined, llKeepAtHead: m?.shouldKeepAlive ?? null },
  });

  if (ours.outcome !== 'complete') {
    if (theirs === 'error') return { result: 'same', reason: 'both refuse' };
    if (ours.outcome === 'incomplete') return diff('we wait for bytes llhttp does not', `llhttp: ${describe(r)}`);
    return { result: 'ours-stricter', reason: theirs === 'upgrade' ? `101 (llhttp: upgrade) — ${ours.reason}` : ours.reason };
  }
  if (theirs === 'upgrade') return diff('we accept a 101', describe(r));
  if (theirs === 'error') {
    const err = r.error;
    return diff(`we accept, llhttp ${err === null ? 'reads no final response' : err.atEof ? 'needs more bytes' : err.code}`, `${err?.reason ?? ''} at ${err?.offset ?? -1}; ours ended at ${ours.end}; ${describe(r)}`);
  }
  const mm = m!;
  if (ours.atEof !== mm.atEof) return diff('close-delimited differs', `ours atEof=${ours.atEof} end=${ours.end}, llhttp ${JSON.stringify(mm.completeIn)} atEof=${mm.atEof}`);
  if (!ours.atEof && (mm.completeIn![1] !== e || mm.completeIn![0] !== e - 1)) return diff('message ends elsewhere', `ours ${e}, llhttp within [${mm.completeIn!.join(', ')}]`);
  if (ours.status !== mm.status) return diff('status', `${ours.status} vs llhttp ${mm.status}`);
  const body = Buffer.concat(mm.body);
  if (!ours.body.equals(body)) return diff('body', `${JSON.stringify(ours.body.toString('latin1'))} vs llhttp ${JSON.stringify(body.toString('latin1'))}`);
  const h = headersDiff(oursEndToEnd(ours.headers), endToEndHeaders(mm.rawHeaders, mm.status));
  if (h !== null) return diff('headers', h);
  const llKeep = ours.atEof ? false : r.keepAliveAfter;
  if (llKeep === null) return diff('keep-alive unknown', describe(r));
  if (ours.keepAlive && !ours.atEof && !llKeep) return diff('we reuse a connection llhttp closes', `llhttp shouldKeepAlive=${mm.shouldKeepAlive}`);
  if (!ours.keepAlive && llKeep) return { result: 'ours-stricter', reason: 'connection closed where llhttp would reuse it' };
  return { result: 'same', reason: 'both accept, same framing' };
}
