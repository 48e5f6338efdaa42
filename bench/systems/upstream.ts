/**
 * The fixed upstream shared by every system of a run (one process, started
 * once): nginx `return 200` when nginx is installed — so the upstream is
 * never the bottleneck of the proxies it serves — else bench/upstream-server.ts.
 */
import { fileURLToPath } from 'node:url';
import { freePort, spawnService, waitForHttp } from '../lib/proc.ts';
import type { Upstream } from '../lib/types.ts';
import { nginxUnavailable, startNginxUpstream } from './nginx.ts';

export async function startUpstream(env: { tmp: string; node: string }, kind: 'auto' | 'nginx' | 'node', workers: number): Promise<Upstream> {
  if (kind !== 'node' && nginxUnavailable() === null) return startNginxUpstream(env, workers);
  if (kind === 'nginx') throw new Error(nginxUnavailable() ?? 'nginx unavailable');
  const port = await freePort();
  const script = fileURLToPath(new URL('../upstream-server.ts', import.meta.url));
  const service = spawnService('upstream-node', env.node, [script, String(port)], { logDir: env.tmp });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/__bench/status`, { service, timeoutMs: 15_000 });
  return {
    base,
    port,
    pid: service.pid,
    kind: 'node',
    async count(): Promise<number> {
      const text = await (await fetch(`${base}/__bench/status`)).text();
      return Number(/requests (\d+)/.exec(text)?.[1] ?? NaN);
    },
    stop: () => service.stop(),
  };
}
