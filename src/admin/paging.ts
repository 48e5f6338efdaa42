/**
 * Pagination and tag filters of the Admin API list endpoints
 * (kong/api/endpoints.lua `extract_options`, `get_page_size`;
 * kong/db/dao/init.lua `validate_size_value`, `validate_options_value`):
 *   size    default 100, an integer between 1 and 1000 (code 9 otherwise);
 *   offset  the opaque cursor of the previous page (code 7 when invalid);
 *   tags    `a,b` = entities with all of them, `a/b` = with any of them,
 *           at most 5, printable ASCII except `,` and `/`, or UTF-8 (code 11).
 */
import type { ListOptions } from '../store/store.ts';
import { invalidOptions, invalidSize } from './errors.ts';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

// printable ASCII except ',' (0x2C) and '/' (0x2F), plus any non-ASCII character
const TAG_CHARS = '[\\x20-\\x2B\\x2D\\x2E\\x30-\\x7E\\u0080-\\u{10FFFF}]';
const TAGS_AND = new RegExp(`^(${TAG_CHARS}+(?:,|$))+$`, 'u');
const TAGS_OR = new RegExp(`^(${TAG_CHARS}+(?:/|$))+$`, 'u');

export interface Paging {
  size: number;
  offset: string | null;
  tags: ListOptions['tags'];
  /** The raw `size` and `tags` arguments, echoed in `next`. */
  rawSize: string | null;
  rawTags: string | null;
}

/** Lua's tonumber for decimal/hex strings; NaN when it is not a number. */
function luaToNumber(s: string): number {
  const t = s.trim();
  if (t === '') return Number.NaN;
  if (/^[+-]?0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t, 16);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number.NaN;
  return Number(t);
}

export function parsePaging(query: URLSearchParams): Paging {
  const rawSize = query.get('size');
  let size = DEFAULT_PAGE_SIZE;
  if (rawSize !== null) {
    const n = luaToNumber(rawSize);
    if (Number.isNaN(n)) throw invalidSize('size must be a number');
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
      throw invalidSize(`size must be an integer between 1 and ${MAX_PAGE_SIZE}`);
    }
    size = n;
  }
  const offset = query.get('offset');
  const rawTags = query.get('tags');
  let tags: ListOptions['tags'] = null;
  // Kong: `?tags=` is an empty filter, not "no filter".
  if (rawTags === '') throw invalidOptions({ tags: 'cannot be null' });
  if (rawTags !== null) {
    let values: string[];
    let mode: 'and' | 'or';
    if (TAGS_AND.test(rawTags)) {
      values = rawTags.split(',').filter((t) => t !== '');
      mode = 'and';
    } else if (TAGS_OR.test(rawTags)) {
      values = rawTags.split('/').filter((t) => t !== '');
      mode = 'or';
    } else {
      throw invalidOptions({ tags: 'invalid filter syntax' });
    }
    if (values.length > 5) throw invalidOptions({ tags: 'cannot query more than 5 tags' });
    tags = { values, mode };
  }
  return { size, offset: offset === '' ? null : offset, tags, rawSize, rawTags };
}

/** ngx.escape_uri: everything but unreserved characters percent-encoded. */
export function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `next` of a top-level list: `/services?offset=…&tags=…&size=…`. */
export function nextTopLevel(collection: string, offset: string | null, paging: Paging): string | null {
  if (offset === null) return null;
  const tags = paging.rawTags !== null ? `&tags=${escapeUri(paging.rawTags)}` : '';
  const size = paging.rawSize !== null ? `&size=${paging.rawSize}` : '';
  return `/${collection}?offset=${escapeUri(offset)}${tags}${size}`;
}

/** `next` of a nested list: `/services/{key as given}/routes?offset=…`. */
export function nextNested(parentCollection: string, parentKey: string, childCollection: string, offset: string | null): string | null {
  if (offset === null) return null;
  return `/${parentCollection}/${parentKey}/${childCollection}?offset=${escapeUri(offset)}`;
}
