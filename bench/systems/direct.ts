/** The direct-upstream baseline: the load generator hits the fixed upstream itself. */
import type { BenchEnv, SystemSpec, Target } from '../lib/types.ts';

export function directUpstream(): SystemSpec {
  return {
    kind: 'direct',
    label: 'direct upstream',
    unavailable: () => null,
    async start(env: BenchEnv): Promise<Target> {
      return {
        kind: 'direct',
        label: 'direct upstream',
        base: env.upstream.base,
        pids: [env.upstream.pid],
        requests: [{ path: '/' }],
        notes: [`the fixed upstream (${env.upstream.kind}) without a proxy in front, sent the same requests as the other systems`],
        stop: async () => {},
      };
    },
  };
}
