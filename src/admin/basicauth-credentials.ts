/**
 * basic-auth credentials' Admin API behaviour (`/basic-auths`,
 * `/consumers/{c}/basic-auth`): the password is hashed as Kong's DAO
 * transformation does (on_write, input `password`, needs `consumer.id`):
 * whenever a write carries `password`, the stored value is
 * sha1(password .. consumer_id) in hex. A write without `password` (a PATCH
 * of tags) keeps the stored hash. See src/schema/entities/basicauth-credentials.ts.
 */
import { hashBasicAuthPassword } from '../schema/entities/basicauth-credentials.ts';
import type { EntityAdapter } from './crud.ts';

export const basicauthCredentialsAdapter: EntityAdapter = {
  hooks(_ctx, _req, input) {
    return {
      async check(prepared) {
        const row = prepared.row;
        const consumer = row.consumer as { id?: unknown } | null;
        if (input.password === undefined || typeof consumer?.id !== 'string') return;
        row.password = hashBasicAuthPassword(consumer.id, typeof row.password === 'string' ? row.password : null);
      },
    };
  },
};
