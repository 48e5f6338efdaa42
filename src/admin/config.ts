/**
 * Declarative configuration over the Admin API (kong/api/routes/config.lua):
 *
 * POST /config — replace the whole configuration. The file comes as the
 * `config` field (form, multipart `-F config=@kong.yml`, or JSON
 * `{"config": "<yaml>"}`), as a JSON document with `_format_version`, or as
 * a raw YAML body. It is validated completely first; only a valid file is
 * handed to the store, which swaps everything in one transaction — an
 * invalid file leaves the running configuration untouched and answers
 * Kong's 400 code 14 (`?flatten_errors=1` adds `flattened_errors`).
 * `?check_hash=1` answers 304 when the file is the one already loaded.
 * Success is 201 with the loaded entities by type and id, as Kong.
 * Kong offers this in DB-less mode only; Portcullis also accepts it on a
 * database store (an atomic replace-all).
 *
 * GET /config — the current configuration as a declarative file:
 * `{"config": "<yaml>"}` (Kong's shape); `?format=yaml` (or an Accept
 * asking for YAML) returns the YAML itself, `?format=json` the document as JSON.
 */
import { exportDeclarative, exportDeclarativeYaml } from '../store/declarative/export.ts';
import { configHash, loadDeclarative, parseDeclarative, type DeclarativeResult } from '../store/declarative/parse.ts';
import { message, unexpected } from './errors.ts';
import { getPlugin } from '../plugins/index.ts';
import type { ConfigSnapshot } from '../schema/entities/types.ts';
import { VaultError } from '../vault/resolve.ts';
import { resolveSnapshotSecrets } from '../vault/snapshot.ts';
import { configurationHash } from './info.ts';
import type { AdminRouter } from './router.ts';
import type { AdminContext, AdminRequest } from './types.ts';

/** Kong's `truthy` for `flatten_errors`. */
function truthy(v: unknown): boolean {
  if (typeof v === 'string') v = v.toLowerCase();
  return v === true || v === 1 || v === 'true' || v === '1' || v === 'on' || v === 'yes';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Source = { text: string } | { doc: Record<string, unknown> };

/** Kong's hydrate_config_from_request: where the configuration is in this request. */
function sourceOf(req: AdminRequest, params: Record<string, unknown>): Source {
  const body = req.body;
  if (body.kind === 'text') return { text: body.value as string };
  if (body.kind === 'json') {
    if (!isObject(body.value)) throw message(400, 'expected a declarative configuration');
    if (body.value._format_version !== undefined) return { doc: params };
    const config = body.value.config;
    if (typeof config === 'string') return { text: config };
    if (isObject(config)) return { doc: config };
    return { doc: params };
  }
  if (body.kind === 'form' || body.kind === 'multipart') {
    const config = (body.value as Record<string, unknown>).config;
    if (typeof config === 'string') return { text: config };
    if (isObject(config)) return { doc: config };
  }
  throw message(400, 'expected a declarative configuration');
}

function entitiesById(config: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [type, rows] of Object.entries(config)) {
    if (!Array.isArray(rows) || rows.length === 0) continue;
    const byId: Record<string, unknown> = {};
    for (const row of rows as Array<{ id: string }>) byId[row.id] = row;
    out[type] = byId;
  }
  return out;
}

/**
 * A vault reference of the file that cannot be resolved now (a missing
 * environment variable), with Kong's message; null when all resolve. Only the
 * message leaves: it names the reference, never a resolved value.
 */
function unresolvableReference(config: Omit<ConfigSnapshot, 'version'>): string | null {
  try {
    resolveSnapshotSecrets({ version: 0, ...config }, (name) => (getPlugin(name)?.schema as unknown as Record<string, unknown> | undefined) ?? null);
    return null;
  } catch (err) {
    if (err instanceof VaultError) return err.message;
    throw err;
  }
}

async function postConfig(req: AdminRequest, ctx: AdminContext) {
  const bodyParams = req.body.kind === 'json' || req.body.kind === 'form' || req.body.kind === 'multipart' ? req.body.value : {};
  const params: Record<string, unknown> = { ...(isObject(bodyParams) ? bodyParams : {}) };
  // Kong merges query and body arguments; only the two options are taken from the query here,
  // so an unrelated query argument never turns into a top-level key of the file
  const flatten = truthy(params.flatten_errors ?? req.query.get('flatten_errors'));
  const checkHash = String(params.check_hash ?? req.query.get('check_hash')) === '1';
  delete params.flatten_errors;
  delete params.check_hash;

  const source = sourceOf(req, params);
  const hash = 'text' in source ? configHash(source.text) : configHash(JSON.stringify(source.doc));
  if (checkHash && hash === configurationHash(ctx)) return { status: 304 };

  const result: DeclarativeResult = 'text' in source ? parseDeclarative(source.text) : loadDeclarative(source.doc, hash);
  if (!result.ok) {
    return { status: 400, body: flatten ? result.flattenedBody : result.body };
  }
  const vaultError = unresolvableReference(result.config);
  if (vaultError !== null) {
    // refused before anything is replaced: the running configuration stays
    return { status: 400, body: { code: 14, name: 'invalid declarative configuration', message: vaultError } };
  }
  try {
    await ctx.store.replaceAll(result.config);
  } catch (err) {
    ctx.log.error({ err }, 'admin api: failed loading declarative config into the store');
    throw unexpected();
  }
  ctx.state.configHash = result.hash;
  ctx.log.info({ hash: result.hash }, 'declarative configuration replaced through the Admin API');
  try {
    ctx.onConfigReplaced?.();
  } catch (err) {
    ctx.log.error({ err }, 'admin api: onConfigReplaced hook failed');
  }
  return { status: 201, body: entitiesById(result.config as unknown as Record<string, unknown>) };
}

function wantsYaml(req: AdminRequest): boolean {
  const format = req.query.get('format');
  if (format !== null) return format.toLowerCase() === 'yaml' || format.toLowerCase() === 'yml';
  const accept = String(req.headers.accept ?? '').toLowerCase();
  return /(application|text)\/(x-)?yaml/.test(accept) && !accept.includes('application/json');
}

export function registerConfig(router: AdminRouter): void {
  router.add('POST', '/config', postConfig, { acceptText: true });

  router.add('GET', '/config', async (req, ctx) => {
    let snapshot;
    try {
      snapshot = await ctx.store.snapshot();
    } catch (err) {
      ctx.log.error({ err }, 'admin api: failed exporting config');
      throw unexpected();
    }
    if (req.query.get('format')?.toLowerCase() === 'json') return { status: 200, body: exportDeclarative(snapshot) };
    const yaml = exportDeclarativeYaml(snapshot);
    if (wantsYaml(req)) return { status: 200, text: yaml, contentType: 'application/yaml; charset=utf-8' };
    return { status: 200, body: { config: yaml } };
  });
}
