/**
 * Vault references, Kong's syntax (kong/pdk/vault.lua is_reference,
 * parse_reference): `{vault://<name or prefix>/<resource>[/<key>][#version]}`.
 * The last path segment is a key into a JSON secret when there is more than
 * one segment and the path does not end with `/` (Kong 3.8's "directory"
 * rule); segments are percent-decoded. Kept free of the entity schemas so the
 * proxy workers can load it.
 */

/** Vault implementations this gateway ships (Kong OSS bundles `env`). */
export const VAULT_NAMES = ['env'] as const;

export interface VaultReference {
  /** The vault name (`env`) or a vaults entity's prefix. */
  name: string;
  resource: string;
  key: string | null;
  version: number | null;
  /** Query-string config overrides (`?prefix=APP_`). */
  config: Record<string, string>;
}

export function isVaultReference(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('{vault://') && value.endsWith('}');
}

/** Kong's parse_reference; the error strings are Kong's. */
export function parseReference(reference: string): { ok: true; ref: VaultReference } | { ok: false; error: string } {
  if (!isVaultReference(reference)) return { ok: false, error: `not a reference [${reference}]` };
  let url: URL;
  try {
    url = new URL(reference.slice(1, -1));
  } catch (err) {
    return { ok: false, error: `reference is not url (${(err as Error).message}) [${reference}]` };
  }
  const name = url.hostname;
  if (name === '') return { ok: false, error: `reference url is missing host [${reference}]` };
  const path = url.pathname;
  if (path === '' || path === '/') return { ok: false, error: `reference url has empty path [${reference}]` };
  let version: number | null = null;
  if (url.hash !== '') {
    version = /^#\d+$/.test(url.hash) ? Number(url.hash.slice(1)) : NaN;
    if (Number.isNaN(version)) return { ok: false, error: `reference url has invalid version [${reference}]` };
  }
  const isDirectory = path.endsWith('/');
  const parts = path.slice(1).split('/').filter((p) => p !== '');
  if (parts.length === 0) return { ok: false, error: `reference url has invalid path [${reference}]` };
  let resource: string;
  let key: string | null = null;
  try {
    if (parts.length === 1) resource = decodeURIComponent(parts[0]!);
    else if (isDirectory) resource = decodeURIComponent(parts.join('/'));
    else {
      resource = decodeURIComponent(parts.slice(0, -1).join('/'));
      key = decodeURIComponent(parts[parts.length - 1]!);
    }
  } catch {
    return { ok: false, error: `reference url has invalid path [${reference}]` };
  }
  const config: Record<string, string> = {};
  for (const [k, v] of url.searchParams) config[k] = v;
  return { ok: true, ref: { name, resource, key, version, config } };
}
