/**
 * Work a stopping process finishes after its listeners closed and before it
 * exits: modules loaded on demand (the plugin queue, src/core/queue.ts)
 * register here, so the process code need not import them (and what they
 * import) to drain them.
 */
const hooks = new Set<() => Promise<void>>();

export function onShutdown(hook: () => Promise<void>): void {
  hooks.add(hook);
}

/** Runs every hook; failures are ignored (the process is exiting). */
export async function runShutdownHooks(): Promise<void> {
  await Promise.all([...hooks].map((h) => h().catch(() => undefined)));
}
