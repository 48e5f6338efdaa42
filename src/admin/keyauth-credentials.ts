/**
 * key-auth credentials' Admin API behaviour beyond the generic endpoints
 * (`/key-auths`, `/consumers/{consumer}/key-auth`, see crud.ts API_NAMES):
 * Kong's `ttl = true` DAO semantics (kong/db/strategies/postgres: rows past
 * their ttl are invisible, `ttl` is served as the seconds left).
 *  - a credential past its ttl is not found (404) and not listed;
 *  - `ttl` is presented as the whole seconds left, null when it never expires;
 *    the internal expiry (`ttl_expires_at`) is never served;
 *  - a PATCH that does not mention `ttl` keeps the running expiry;
 *  - `ttl` is one of Kong's DAO options, not a field: out of bounds it is
 *    Kong's "invalid options" error, `ttl: must be an integer between 0 and
 *    100000000`; 0 means no expiry (Kong Manager always sends `ttl: 0`);
 *  - a new credential may reuse the key of one that has expired (Kong's
 *    cleanup would have removed it): the expired row is deleted first.
 */
import { credentialExpired, MAX_TTL, publicCredential, TTL_MESSAGE } from '../schema/entities/keyauth-credentials.ts';
import { invalidOptions } from './errors.ts';
import type { EntityAdapter } from './crud.ts';
import { findEntity, storeFailure, type Row } from './entity-ops.ts';

export const keyauthCredentialsAdapter: EntityAdapter = {
  async lookup(ctx, raw) {
    const row = await findEntity(ctx, 'keyauth_credentials', raw);
    return row !== null && credentialExpired(row) ? null : row;
  },
  async present(_ctx, row) {
    // a row looked up a moment ago that expired since is still shown, with ttl 0
    return publicCredential(row) ?? { ...publicCredential(row, 0), ttl: 0 };
  },
  visible(row) {
    return !credentialExpired(row);
  },
  hooks(ctx, req, input) {
    const ttl = input.ttl;
    if (ttl !== undefined && ttl !== null && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL)) {
      throw invalidOptions({ ttl: TTL_MESSAGE });
    }
    return {
      async check(prepared, existing) {
        const row = prepared.row;
        if (existing !== null && req.method === 'PATCH' && input.ttl === undefined) {
          row.ttl = existing.ttl ?? null;
          row.ttl_expires_at = existing.ttl_expires_at ?? null;
        }
        if (typeof row.key !== 'string') return;
        let holder: Row | null;
        try {
          holder = (await ctx.store.getByKey('keyauth_credentials', row.key)) as Row | null;
          if (holder !== null && holder.id !== row.id && credentialExpired(holder)) await ctx.store.delete('keyauth_credentials', String(holder.id));
        } catch (err) {
          throw storeFailure(ctx, err, 'keyauth_credentials', 'create');
        }
      },
    };
  },
};
