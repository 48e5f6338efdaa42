/**
 * Reading `Authorization: Basic …` as Kong's basic-auth does
 * (kong/plugins/basic-auth/access.lua, retrieve_credentials): the value must
 * match `\s*[Bb]asic\s*(.+)`, the rest must be base64 (ngx.decode_base64:
 * nil on anything else) and the decoded text `([^:]+):(.*)` — unanchored, so
 * leading colons are skipped; then a username of at least one byte, and
 * everything after the next colon is the password.
 */
import { Buffer } from 'node:buffer';

const SCHEME = /^\s*[Bb]asic\s*(.+)/s;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface GivenCredentials {
  username: string;
  password: string;
}

export function parseBasic(value: string | undefined): GivenCredentials | null {
  if (value === undefined) return null;
  // ngx.re.gmatch finds the first match anywhere; a leading non-match is skipped the same way
  const at = value.search(/[Bb]asic/);
  if (at === -1) return null;
  const m = SCHEME.exec(value.slice(at));
  if (m === null) return null;
  const encoded = m[1]!;
  if (!BASE64.test(encoded) || encoded.length % 4 === 1) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('latin1');
  // ngx.re.match is unanchored: the match starts at the first non-colon byte
  let start = 0;
  while (start < decoded.length && decoded[start] === ':') start++;
  const colon = decoded.indexOf(':', start);
  if (colon === -1) return null;
  // Kong compares bytes: keep them as sent (latin1 round-trips every byte), then read as UTF-8 for the lookup
  return { username: Buffer.from(decoded.slice(start, colon), 'latin1').toString('utf8'), password: Buffer.from(decoded.slice(colon + 1), 'latin1').toString('utf8') };
}
