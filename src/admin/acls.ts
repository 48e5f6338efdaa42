/**
 * acls' Admin API behaviour beyond the generic endpoints (Kong's
 * kong/plugins/acl/api.lua): under a consumer, `{c}` in
 * `/consumers/{consumer}/acls/{c}` is an id or the group name (Kong finds
 * the row by its cache key, consumer + group); PUT by group name creates the
 * row when the consumer is not in the group yet. `/acls/{id}` takes ids only.
 */
import type { AclEntity } from '../schema/entities/types.ts';
import type { ListPage } from '../store/store.ts';
import type { EntityAdapter } from './crud.ts';
import { storeFailure, type Row } from './entity-ops.ts';

export const aclsAdapter: EntityAdapter = {
  nestedKey: 'group',
  async lookupUnder(ctx, parentRow, raw) {
    let offset: string | null = null;
    try {
      do {
        const page: ListPage<AclEntity> = await ctx.store.list('acls', { size: 1000, offset, foreign: { field: 'consumer', id: String(parentRow.id) } });
        const found = page.data.find((r) => r.group === raw);
        if (found !== undefined) return found as unknown as Row;
        offset = page.offset;
      } while (offset !== null);
    } catch (err) {
      throw storeFailure(ctx, err, 'acls', 'create');
    }
    return null;
  },
};
