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
import type { Verdict } from './compare.ts';

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


export const KNOWN_BUGS: KnownBug[] = [
  // Empty: the fifteen differences the first runs found (fast lane: Connection / Proxy-Connection
  // close; response parser: TE with CL, empty TE, TE with a tab, whitespace after a chunk size,
  // unvalidated chunk extensions and trailers, framing fields in trailers, CTLs in values, CL lists,
  // interim answers that close, "__proto__") were fixed in issue 9; their repros are pinned as
  // refusals in test/unit/core/upstream/h1-response.test.ts and test/unit/core/downstream/request-head.test.ts.
];

/** The known bug a difference comes from, if any. */
export function knownBug(side: 'request' | 'response', v: Extract<Verdict, { result: 'different' }>, text: string): KnownBug | undefined {
  return KNOWN_BUGS.find((b) => b.side === side && b.matches(v, text));
}
