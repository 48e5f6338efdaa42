/**
 * Resolved plugin chains (built at compile time by runtime.ts, run by runner.ts).
 *
 * Kong's precedence when several instances of one plugin could apply:
 *   Route+Service+Consumer › Route+Consumer › Service+Consumer › Route+Service
 *   › Consumer › Route › Service › Global
 * A consumer-scoped instance is only known once authentication ran, so each
 * entry keeps the best non-consumer instance (`base`) and the best instance per
 * consumer id (`byConsumer`); at run time `byConsumer.get(ctx.consumer.id) ?? base`.
 */
import type { PluginModule } from '../../plugins/types.ts';

export interface PluginInstance {
  /** Plugin entity id. */
  id: string;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  module: PluginModule<any, any>;
  /** compile() output, frozen. */
  conf: unknown;
}

export interface PlanEntry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  module: PluginModule<any, any>;
  base: PluginInstance | null;
  byConsumer: Map<string, PluginInstance> | null;
}

export interface PluginPlan {
  /** Sorted by module.priority, highest first (ties: by name, as Kong). */
  entries: PlanEntry[];
  hasRewrite: boolean;
  hasAccess: boolean;
  /** A plugin has Kong's buffered `response` phase: the upstream response is read whole before it is relayed. */
  hasResponse: boolean;
  hasHeaderFilter: boolean;
  hasBodyFilter: boolean;
  hasLog: boolean;
}
