/**
 * Regex route paths (`~/users/(?<id>\d+)`), Kong Proxy Reference "Using Regex
 * in paths" / "Capturing groups".
 *
 * Kong anchors the regex at the start of the path (traditional router: PCRE
 * "a" flag; traditional_compatible: the source is prefixed with `^`), never at
 * the end. We wrap the whole source, `^(?:…)`, so a top-level alternation is
 * anchored in every branch as PCRE's anchored mode does. PCRE's
 * `(?P<name>…)` named-group spelling is translated to JavaScript's `(?<name>…)`.
 */
import { normalizeRegexPath } from './normalize.ts';

export interface CompiledRegexPath {
  regex: RegExp;
  /** Whether the pattern has capture groups (Kong sets uri_captures only then). */
  hasGroups: boolean;
  /**
   * Literal text every match must start with; used as the key in the prefix
   * tree so a regex is only tried on paths that can match it.
   */
  literalPrefix: string;
}

const TRAILING_OPTIONAL = new Set(['?', '*', '{']);

/**
 * The longest literal string every match of `^(?:source)` starts with.
 * Conservative: any alternation or unsupported construct ends it.
 */
export function literalPrefixOf(source: string): string {
  if (source.includes('|')) return '';
  let out = '';
  let i = source.charCodeAt(0) === 94 /* ^ */ ? 1 : 0;
  while (i < source.length) {
    const ch = source[i]!;
    let lit: string;
    let width: number;
    if (ch === '\\') {
      const next = source[i + 1];
      // an escaped punctuation char is that char; \d, \w, \b, \1 … are not literals
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break;
      lit = next;
      width = 2;
    } else if ('^$.|?*+()[]{}'.includes(ch)) {
      break;
    } else {
      lit = ch;
      width = 1;
    }
    const after = source[i + width];
    if (after !== undefined && TRAILING_OPTIONAL.has(after)) break; // this char may be absent
    out += lit;
    i += width;
    if (after === '+') break; // present at least once, but what follows is not fixed
  }
  return out;
}

/** Compile a regex route path given without its `~`; null when JavaScript cannot compile it. */
export function compileRegexPath(sourceWithoutTilde: string): CompiledRegexPath | null {
  const source = normalizeRegexPath(sourceWithoutTilde).replace(/\(\?P</g, '(?<');
  const wrapped = '^(?:' + source + ')';
  let regex: RegExp;
  try {
    // The schema validates route regexes with the `u` flag; fall back for
    // sources written for PCRE's looser escaping.
    regex = new RegExp(wrapped, 'u');
  } catch {
    try {
      regex = new RegExp(wrapped);
    } catch {
      return null;
    }
  }
  // Count groups by matching against a string that an always-true alternative accepts.
  const groupCount = new RegExp(regex.source + '|', regex.flags).exec('')!.length - 1;
  return { regex, hasGroups: groupCount > 0, literalPrefix: literalPrefixOf(source) };
}

/** Kong's uri_captures: "0" (whole match), "1"…, and named groups; unmatched groups are absent. */
export function capturesOf(m: RegExpExecArray): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < m.length; i++) {
    const v = m[i];
    if (v !== undefined) out[String(i)] = v;
  }
  if (m.groups !== undefined) {
    for (const name of Object.keys(m.groups)) {
      const v = m.groups[name];
      if (v !== undefined) out[name] = v;
    }
  }
  return out;
}
