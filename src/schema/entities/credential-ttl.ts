/**
 * Credential ttl check, on its own so the proxy runtime can use it without
 * loading the entity schemas (TypeBox) into every worker.
 */
import { clock } from '../../shared/clock.ts';

/** Whether a credential's ttl has run out at `nowS` (epoch seconds). */
export function credentialExpired(row: Readonly<Record<string, unknown>>, nowS = clock.now() / 1000): boolean {
  return typeof row.ttl_expires_at === 'number' && row.ttl_expires_at <= nowS;
}
