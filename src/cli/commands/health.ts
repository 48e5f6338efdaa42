/** `portcullis health`: ask a running gateway's Admin API whether it is healthy. */
import { resolveSettings, type FlagMap } from '../settings.ts';

export async function health(flags: FlagMap): Promise<number> {
  const settings = resolveSettings(flags);
  const admin = settings.adminListen[0];
  if (admin === undefined) {
    process.stderr.write('health: the Admin API is off (admin_listen = off)\n');
    return 2;
  }
  const host = admin.host === '0.0.0.0' ? '127.0.0.1' : admin.host === '::' ? '[::1]' : admin.host.includes(':') ? `[${admin.host}]` : admin.host;
  const headers: Record<string, string> = {};
  if (settings.adminToken) headers['kong-admin-token'] = settings.adminToken;
  try {
    const res = await fetch(`http://${host}:${admin.port}/status`, { headers, signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { database?: { reachable?: boolean } };
    if (res.status === 200 && body.database?.reachable !== false) {
      process.stdout.write('Portcullis is healthy\n');
      return 0;
    }
    process.stderr.write(`Portcullis is not healthy (status ${res.status})\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`Portcullis is not running at ${host}:${admin.port}: ${(err as Error).message}\n`);
    return 1;
  }
}
