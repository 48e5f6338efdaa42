/**
 * Export the whole configuration as a declarative document, in the shape
 * Kong's `kong config db_export` and `GET /config` produce
 * (kong/db/declarative/export.lua): `_format_version: "3.0"`,
 * `_transform: false`, then one flat list per entity type in dependency
 * order, every row complete (nulls included), foreign keys written as the
 * referenced id. Loading the result with parseDeclarative gives back the same
 * entities with the same ids.
 */
import { stringify } from 'yaml';
import { ENTITIES } from '../../schema/entities/index.ts';
import type { ConfigSnapshot } from '../../schema/entities/types.ts';
import { ENTITY_ORDER, relationsOfChild } from './relations.ts';

export type DeclarativeDocument = { _format_version: '3.0'; _transform: false } & Record<string, unknown>;

export function exportDeclarative(snapshot: Omit<ConfigSnapshot, 'version'> & { version?: number }): DeclarativeDocument {
  const doc: DeclarativeDocument = { _format_version: '3.0', _transform: false };
  for (const type of ENTITY_ORDER) {
    const rows = snapshot[type] as unknown as Array<Record<string, unknown>>;
    if (!Array.isArray(rows) || rows.length === 0) continue;
    const fks = relationsOfChild(type).map((r) => r.field);
    const view = ENTITIES[type].publicView;
    const visible = view === undefined ? rows : rows.map((row) => view(row)).filter((row) => row !== null);
    if (visible.length === 0) continue;
    doc[type] = visible.map((row) => {
      const out: Record<string, unknown> = { ...row };
      for (const f of fks) {
        const v = out[f];
        if (typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string') out[f] = (v as { id: string }).id;
      }
      return out;
    });
  }
  return doc;
}

/** The same document as YAML text (what `GET /config` returns in `config`). */
export function exportDeclarativeYaml(snapshot: Omit<ConfigSnapshot, 'version'> & { version?: number }): string {
  return stringify(exportDeclarative(snapshot), { lineWidth: 0, nullStr: 'null' });
}
