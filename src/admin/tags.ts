/**
 * Tag endpoints (kong/api/routes/tags.lua): every tagged entity, one row per
 * (entity, tag) — `{entity_name, entity_id, tag}` — paginated like any list.
 *   GET /tags         all of them
 *   GET /tags/{tag}   those carrying {tag}
 */
import { Buffer } from 'node:buffer';
import { ENTITY_NAMES } from '../schema/entities/types.ts';
import { invalidOffset, unexpected } from './errors.ts';
import { escapeUri, parsePaging } from './paging.ts';
import type { AdminRouter } from './router.ts';
import type { AdminContext, AdminRequest, AdminResponse } from './types.ts';

interface TagRow {
  entity_name: string;
  entity_id: string;
  tag: string;
}

async function allTags(ctx: AdminContext): Promise<TagRow[]> {
  const snap = await ctx.store.snapshot();
  const out: TagRow[] = [];
  for (const entity of ENTITY_NAMES) {
    for (const row of snap[entity] as Array<{ id: string; tags: string[] | null }>) {
      if (!Array.isArray(row.tags)) continue;
      for (const tag of row.tags) out.push({ entity_name: entity, entity_id: row.id, tag });
    }
  }
  // a stable order so offsets stay meaningful between pages
  out.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : a.entity_name < b.entity_name ? -1 : a.entity_name > b.entity_name ? 1 : a.entity_id < b.entity_id ? -1 : a.entity_id > b.entity_id ? 1 : 0));
  return out;
}

function decodeOffset(offset: string): number {
  const text = Buffer.from(offset, 'base64').toString('utf8');
  if (!/^\d+$/.test(text)) throw invalidOffset(offset, 'bad base64 encoding');
  return Number(text);
}

async function page(req: AdminRequest, ctx: AdminContext, tag: string | null): Promise<AdminResponse> {
  const q = new URLSearchParams(req.query);
  q.delete('tags');
  const paging = parsePaging(q);
  const start = paging.offset === null ? 0 : decodeOffset(paging.offset);
  let rows: TagRow[];
  try {
    rows = await allTags(ctx);
  } catch (err) {
    ctx.log.error({ err }, 'admin api: cannot read tags');
    throw unexpected();
  }
  if (tag !== null) rows = rows.filter((r) => r.tag === tag);
  const data = rows.slice(start, start + paging.size);
  const end = start + data.length;
  const offset = end < rows.length ? Buffer.from(String(end)).toString('base64') : null;
  const base = tag === null ? '/tags' : `/tags/${escapeUri(tag)}`;
  const next = offset === null ? null : `${base}?offset=${escapeUri(offset)}${paging.rawSize !== null ? `&size=${paging.rawSize}` : ''}`;
  return { status: 200, body: offset === null ? { data, next } : { data, offset, next } };
}

export function registerTags(router: AdminRouter): void {
  router.add('GET', '/tags', (req, ctx) => page(req, ctx, null));
  router.add('GET', '/tags/:tag', (req, ctx) => page(req, ctx, req.params.tag!));
}
