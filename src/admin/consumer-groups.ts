/**
 * Consumer group membership, with Kong Gateway Enterprise's endpoints and
 * answers (Kong OSS has no consumer groups; see
 * src/schema/entities/consumer-groups.ts). The groups themselves use the
 * generic endpoints (`/consumer_groups`, `/consumer_groups/{id or name}`).
 *
 *   /consumer_groups/{g}/consumers        GET `{data: [consumers]}`; POST `{consumer: "alice" | [..]}` → 201
 *                                         `{consumer_group, consumers}`; DELETE: every member out (204)
 *   /consumer_groups/{g}/consumers/{c}    GET the consumer (404 when not a member); DELETE (204)
 *   /consumers/{c}/consumer_groups        GET `{data: [groups]}`; POST `{group: "gold" | [..]}` → 201
 *                                         `{consumer, consumer_groups}`; DELETE: out of every group (204)
 *   /consumers/{c}/consumer_groups/{g}    GET the group (404 when not a member); DELETE (204)
 * Memberships are rows of `consumer_group_consumers`, which cascade with
 * either side and appear in exports and kong.yml.
 */
import { bodyObject } from './body.ts';
import { scanAll } from './crud.ts';
import { deleteEntity, insertEntity, mustFind, type Row } from './entity-ops.ts';
import { notFound, schemaViolation } from './errors.ts';
import type { AdminRouter } from './router.ts';
import type { AdminContext, AdminRequest } from './types.ts';

type Side = 'consumer' | 'consumer_group';

const fk = (row: Row, field: Side): string | null => (row[field] as { id?: string } | null)?.id ?? null;

async function memberships(ctx: AdminContext, side: Side, id: string): Promise<Row[]> {
  const out: Row[] = [];
  await scanAll(ctx, 'consumer_group_consumers', (row) => {
    if (fk(row, side) === id) out.push(row);
  });
  return out;
}

/** The names or ids of the body field (`consumer` / `group`), as a list; 400 when missing. */
function namesOf(req: AdminRequest, field: string): string[] {
  const body = bodyObject(req.body);
  const v = body[field];
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  if (list.length === 0 || list.some((x) => typeof x !== 'string' || x === '')) throw schemaViolation({ [field]: 'required field missing' });
  return list as string[];
}

async function join(ctx: AdminContext, groupId: string, consumerId: string): Promise<void> {
  await insertEntity(ctx, 'consumer_group_consumers', { consumer_group: { id: groupId }, consumer: { id: consumerId } });
}

async function related(ctx: AdminContext, rows: Row[], other: Side): Promise<Row[]> {
  const entity = other === 'consumer' ? 'consumers' : 'consumer_groups';
  const out: Row[] = [];
  for (const m of rows) {
    const row = (await ctx.store.get(entity, fk(m, other)!)) as Row | null;
    if (row !== null) out.push(row);
  }
  return out;
}

export function registerConsumerGroups(router: AdminRouter): void {
  router.add('GET', '/consumer_groups/:group/consumers', async (req, ctx) => {
    const group = await mustFind(ctx, 'consumer_groups', req.params.group!);
    return { status: 200, body: { data: await related(ctx, await memberships(ctx, 'consumer_group', String(group.id)), 'consumer'), next: null } };
  });
  router.add('POST', '/consumer_groups/:group/consumers', async (req, ctx) => {
    const group = await mustFind(ctx, 'consumer_groups', req.params.group!);
    const consumers: Row[] = [];
    for (const name of namesOf(req, 'consumer')) consumers.push(await mustFind(ctx, 'consumers', name));
    for (const c of consumers) await join(ctx, String(group.id), String(c.id));
    return { status: 201, body: { consumer_group: group, consumers } };
  });
  router.add('DELETE', '/consumer_groups/:group/consumers', async (req, ctx) => {
    const group = await mustFind(ctx, 'consumer_groups', req.params.group!);
    for (const m of await memberships(ctx, 'consumer_group', String(group.id))) await deleteEntity(ctx, 'consumer_group_consumers', m, null);
    return { status: 204 };
  });
  router.add('GET', '/consumer_groups/:group/consumers/:consumer', async (req, ctx) => {
    const group = await mustFind(ctx, 'consumer_groups', req.params.group!);
    const consumer = await mustFind(ctx, 'consumers', req.params.consumer!);
    const member = (await memberships(ctx, 'consumer_group', String(group.id))).some((m) => fk(m, 'consumer') === consumer.id);
    if (!member) throw notFound();
    return { status: 200, body: consumer };
  });
  router.add('DELETE', '/consumer_groups/:group/consumers/:consumer', async (req, ctx) => {
    const group = await mustFind(ctx, 'consumer_groups', req.params.group!);
    const consumer = await mustFind(ctx, 'consumers', req.params.consumer!);
    for (const m of await memberships(ctx, 'consumer_group', String(group.id))) {
      if (fk(m, 'consumer') === consumer.id) await deleteEntity(ctx, 'consumer_group_consumers', m, null);
    }
    return { status: 204 };
  });

  router.add('GET', '/consumers/:consumer/consumer_groups', async (req, ctx) => {
    const consumer = await mustFind(ctx, 'consumers', req.params.consumer!);
    return { status: 200, body: { data: await related(ctx, await memberships(ctx, 'consumer', String(consumer.id)), 'consumer_group'), next: null } };
  });
  router.add('POST', '/consumers/:consumer/consumer_groups', async (req, ctx) => {
    const consumer = await mustFind(ctx, 'consumers', req.params.consumer!);
    const groups: Row[] = [];
    for (const name of namesOf(req, 'group')) groups.push(await mustFind(ctx, 'consumer_groups', name));
    for (const g of groups) await join(ctx, String(g.id), String(consumer.id));
    return { status: 201, body: { consumer, consumer_groups: groups } };
  });
  router.add('DELETE', '/consumers/:consumer/consumer_groups', async (req, ctx) => {
    const consumer = await mustFind(ctx, 'consumers', req.params.consumer!);
    for (const m of await memberships(ctx, 'consumer', String(consumer.id))) await deleteEntity(ctx, 'consumer_group_consumers', m, null);
    return { status: 204 };
  });
  router.add('GET', '/consumers/:consumer/consumer_groups/:group', async (req, ctx) => {
    const consumer = await mustFind(ctx, 'consumers', req.params.consumer!);
    const group = await mustFind(ctx, 'consumer_groups', req.params.group!);
    const member = (await memberships(ctx, 'consumer', String(consumer.id))).some((m) => fk(m, 'consumer_group') === group.id);
    if (!member) throw notFound();
    return { status: 200, body: group };
  });
  router.add('DELETE', '/consumers/:consumer/consumer_groups/:group', async (req, ctx) => {
    const consumer = await mustFind(ctx, 'consumers', req.params.consumer!);
    const group = await mustFind(ctx, 'consumer_groups', req.params.group!);
    for (const m of await memberships(ctx, 'consumer', String(consumer.id))) {
      if (fk(m, 'consumer_group') === group.id) await deleteEntity(ctx, 'consumer_group_consumers', m, null);
    }
    return { status: 204 };
  });
}
