/**
 * Reading `Authorization: Basic …` as Kong's basic-auth does
 * (kong/plugins/basic-auth/access.lua, retrieve_credentials): the value must
 * match `\s*[Bb]asic\s*(.+)`, the rest must be base64 (ngx.decode_base64:
 * nil on anything else) and the decoded text `([^:]+):(.*)` — a username of
 * at least one byte, then everything after the first colon is the password.
 */
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
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  // Kong compares bytes: keep them as sent (latin1 round-trips every byte), then read as UTF-8 for the lookup
  return { username: Buffer.from(decoded.slice(0, colon), 'latin1').toString('utf8'), password: Buffer.from(decoded.slice(colon + 1), 'latin1').toString('utf8') };
}
