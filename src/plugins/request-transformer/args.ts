/**
 * Query strings and form bodies as ordered name → value(s) maps, with the
 * shapes Kong's transforms work on (ngx.decode_args / encode_args): a name
 * sent once is a string, several times a list, and a bare `flag` (no `=`)
 * is `true`.
 */
export type ArgValue = string | string[] | true;
export type Args = Map<string, ArgValue>;

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return s;
  }
}

export function decodeArgs(text: string): Args {
  const args: Args = new Map();
  if (text === '') return args;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq === -1 ? part : part.slice(0, eq));
    const value: string | true = eq === -1 ? true : decode(part.slice(eq + 1));
    const cur = args.get(name);
    if (cur === undefined || cur === true) args.set(name, value);
    else if (value === true) continue;
    else if (Array.isArray(cur)) cur.push(value);
    else args.set(name, [cur, value]);
  }
  return args;
}

function encode(s: string): string {
  return encodeURIComponent(s);
}

/** Encode args; `sorted` for query strings (Kong's PDK set_query sorts names for a stable URL). */
export function encodeArgs(args: Args, sorted: boolean): string {
  const names = [...args.keys()];
  if (sorted) names.sort();
  const out: string[] = [];
  for (const name of names) {
    const v = args.get(name)!;
    if (v === true) out.push(encode(name));
    else if (Array.isArray(v)) for (const item of v) out.push(`${encode(name)}=${encode(item)}`);
    else out.push(`${encode(name)}=${encode(v)}`);
  }
  return out.join('&');
}
