/**
 * Resolved plugin chains (built at compile time by runtime.ts, run by runner.ts).
 *
 * Kong's precedence when several instances of one plugin could apply (Kong
 * Gateway 3.4+, with Enterprise's consumer groups; plan.ts ranks them):
 *   Consumer+Route+Service › ConsumerGroup+Route+Service › Consumer+Route
 *   › Consumer+Service › ConsumerGroup+Route › ConsumerGroup+Service
 *   › Route+Service › Consumer › ConsumerGroup › Route › Service › Global
 * Consumer- and group-scoped instances are only known once authentication
 * ran, so each entry keeps the best instance that applies to every caller
 * (`base`) and, per consumer id and per consumer group name, the best scoped
 * instance that outranks it. At run time (runner.ts instanceFor) the highest
 * ranked of the caller's consumer instance and its groups' instances wins,
 * else `base`.
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

/** A consumer- or group-scoped instance and its precedence rank (plan.ts `rank`; higher wins). */
export interface ScopedInstance {
  instance: PluginInstance;
  rank: number;
}

export interface PlanEntry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  module: PluginModule<any, any>;
  base: PluginInstance | null;
  /** consumer id → its best instance, only where it outranks `base`. */
  byConsumer: Map<string, ScopedInstance> | null;
  /** consumer group name → its best instance, only where it outranks `base`. */
  byGroup: Map<string, ScopedInstance> | null;
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
