/**
 * Certificates' Admin API extras (kong/api/routes/certificates.lua,
 * kong/db/dao/certificates.lua):
 *  - `/certificates/{id or SNI name}`: a name selects the certificate serving
 *    that SNI (404 `SNI not found` when none; PUT creates a new certificate);
 *  - the `snis` sugar field: `POST /certificates` with `snis: [a, b]` creates
 *    the SNI entities, PUT replaces the list, PATCH replaces it when given;
 *  - certificates are served with their SNI names (`snis`, sorted).
 * SNIs are checked before anything is written: a name already serving
 * another certificate is a schema violation on `snis`.
 */
import { randomUUID } from 'node:crypto';
import { isUuid } from '../schema/checks.ts';
import { prepareEntity } from '../schema/validate.ts';
import type { EntityMap } from '../schema/entities/types.ts';
import type { EntityAdapter } from './crud.ts';
import { AdminError, message, schemaViolation } from './errors.ts';
import { storeFailure, upsertEntity, type Prepared, type Row, type WriteHooks } from './entity-ops.ts';
import type { AdminContext, AdminRequest } from './types.ts';

async function snisOf(ctx: AdminContext, certId: string): Promise<Row[]> {
  const out: Row[] = [];
  let offset: string | null = null;
  do {
    let page;
    try {
      page = await ctx.store.list('snis', { size: 1000, offset, foreign: { field: 'certificate', id: certId } });
    } catch (err) {
      throw storeFailure(ctx, err, 'snis', 'create');
    }
    for (const row of page.data) out.push(row as unknown as Row);
    offset = page.offset;
  } while (offset !== null);
  return out;
}

async function snisByName(ctx: AdminContext, name: string): Promise<Row | null> {
  try {
    return (await ctx.store.getByKey('snis', name)) as Row | null;
  } catch (err) {
    throw storeFailure(ctx, err, 'snis', 'create');
  }
}

function certIdOfSni(sni: Row): string | null {
  const c = sni.certificate as { id?: unknown } | null;
  return c !== null && typeof c === 'object' && typeof c.id === 'string' ? c.id : null;
}

/**
 * The SNI list a write asks for: `extras.snis` when the request carried
 * `snis`, an empty list for a PUT without it (Kong sets `snis = null`),
 * otherwise undefined (leave the SNIs alone).
 */
function desiredSnis(prepared: Prepared, method: string, addressedBy: string | null): string[] | undefined {
  let snis = prepared.extras.snis;
  if (snis === undefined && method === 'PUT') snis = [];
  // PUT /certificates/example.com keeps serving the name it was addressed by
  if (addressedBy !== null && method === 'PUT' && snis !== undefined && !snis.includes(addressedBy)) snis = [...snis, addressedBy].sort();
  return snis;
}

function sniHooks(ctx: AdminContext, req: AdminRequest, addressedBy: string | null): WriteHooks {
  let plan: { add: Array<EntityMap['snis']>; remove: string[] } | null = null;
  return {
    async check(prepared) {
      const certId = String(prepared.row.id);
      const wanted = desiredSnis(prepared, req.method, addressedBy);
      if (wanted === undefined) return;
      const current = await snisOf(ctx, certId);
      const currentNames = new Set(current.map((s) => String(s.name)));
      const add: Array<EntityMap['snis']> = [];
      for (const name of wanted) {
        if (currentNames.has(name)) continue;
        const other = await snisByName(ctx, name);
        if (other !== null && certIdOfSni(other) !== certId) {
          throw schemaViolation({ snis: `${name} already associated with existing certificate '${String(certIdOfSni(other))}'` });
        }
        const sni = prepareEntity('snis', { name, certificate: { id: certId } }, { mode: 'insert' });
        if (!sni.ok) throw schemaViolation({ snis: sni.fields.name ?? sni.message });
        add.push(sni.row);
      }
      const remove = current.filter((s) => !wanted.includes(String(s.name))).map((s) => String(s.id));
      plan = { add, remove };
    },
    async after() {
      if (plan === null) return;
      try {
        for (const id of plan.remove) await ctx.store.delete('snis', id);
        for (const row of plan.add) await ctx.store.insert('snis', row);
      } catch (err) {
        throw storeFailure(ctx, err, 'snis', 'create');
      }
    },
  };
}

export const certificatesAdapter: EntityAdapter = {
  async lookup(ctx, raw, method) {
    if (isUuid(raw)) {
      try {
        return (await ctx.store.get('certificates', raw)) as Row | null;
      } catch (err) {
        throw storeFailure(ctx, err, 'certificates', 'create');
      }
    }
    const sni = await snisByName(ctx, raw);
    const certId = sni === null ? null : certIdOfSni(sni);
    if (certId === null) {
      if (method === 'PUT') return null;
      throw message(404, 'SNI not found');
    }
    try {
      return (await ctx.store.get('certificates', certId)) as Row | null;
    } catch (err) {
      throw storeFailure(ctx, err, 'certificates', 'create');
    }
  },

  async present(ctx, row) {
    const names = (await snisOf(ctx, String(row.id))).map((s) => String(s.name)).sort();
    return { ...row, snis: names };
  },

  hooks(ctx, req) {
    return sniHooks(ctx, req, null);
  },

  async upsert(ctx, raw, input, req) {
    if (isUuid(raw)) return upsertEntity(ctx, 'certificates', raw, input, sniHooks(ctx, req, null));
    const sni = await snisByName(ctx, raw);
    const certId = sni === null ? null : certIdOfSni(sni);
    // an unknown name creates a new certificate serving it
    const id = certId ?? randomUUID();
    if (input.snis === undefined || input.snis === null) input.snis = [raw];
    try {
      return await upsertEntity(ctx, 'certificates', id, input, sniHooks(ctx, req, raw));
    } catch (err) {
      if (err instanceof AdminError) throw err;
      throw storeFailure(ctx, err, 'certificates', 'create or update');
    }
  },
};

