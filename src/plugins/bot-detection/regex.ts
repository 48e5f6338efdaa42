/**
 * PCRE (ngx.re.find, flags "jo": no case folding, no multiline) to
 * JavaScript RegExp, for the bot-detection patterns. The translation is
 * lexical and covers what differs in syntax between the two engines for
 * patterns like Kong's and its users':
 *
 * - leading inline flags `(?i)`, `(?s)`, `(?m)` become RegExp flags
 *   (`(?x)` is refused: extended mode has no JavaScript equivalent);
 * - `(?P<name>…)` and `(?P=name)` (Python-style groups) become `(?<name>…)`
 *   and `\k<name>`;
 * - `\A` becomes `^`, `\z` becomes `$` (JavaScript's `$` without `m` is
 *   PCRE's `\z`), `\Z` becomes `(?=\n?$)`;
 * - a `]` right after `[` or `[^` is a literal in PCRE, an empty class in
 *   JavaScript: it is escaped.
 *
 * PCRE's `$` also matches before a final newline; the handler strips the
 * User-Agent first (as Kong does), so `$` is left as is. The RegExp is
 * compiled without the `u` flag, whose strict escapes would refuse PCRE's
 * identity escapes (`\!`). Anything else JavaScript cannot compile
 * (possessive quantifiers, atomic groups, `\Q…\E`) throws, and the schema
 * check reports it on the field.
 */
export function compilePcre(source: string): RegExp {
  let flags = '';
  let s = source;
  const lead = /^\(\?([imsx]+)\)/.exec(s);
  if (lead !== null) {
    if (lead[1]!.includes('x')) throw new SyntaxError('extended mode (?x) is not supported');
    flags = [...new Set(lead[1]!)].join('');
    s = s.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const n = s[i + 1];
      i++;
      if (n === undefined) throw new SyntaxError('\\ at end of pattern');
      if (!inClass && n === 'A') out += '^';
      else if (!inClass && n === 'z') out += '$';
      else if (!inClass && n === 'Z') out += '(?=\\n?$)';
      else out += '\\' + n;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (s[i + 1] === '^') out += s[++i];
      if (s[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && s.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    if (c === '(' && s.startsWith('(?P=', i)) {
      const end = s.indexOf(')', i);
      if (end === -1) throw new SyntaxError('unterminated (?P=name)');
      out += `\\k<${s.slice(i + 4, end)}>`;
      i = end;
      continue;
    }
    out += c;
  }
  return new RegExp(out, flags);
}

/** The compile error of a PCRE source, or null when it compiles. */
export function pcreError(source: string): string | null {
  try {
    compilePcre(source);
    return null;
  } catch (err) {
    return (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
  }
}
