/**
 * The cluster primary's own V8 flags (src/cli/commands/start.ts replaces the
 * process with them, src/cluster.ts keeps them off the workers' command line).
 */

/** Set in the environment once the primary has replaced itself with its flags. */
export const PRIMARY_EXEC = 'PORTCULLIS_PRIMARY_EXEC';
/** The primary's young generation: it serves the Admin API, not the proxy. */
export const PRIMARY_V8_FLAG = '--max-semi-space-size=2';

/** Did the operator size V8's young generation (in `execArgv` or NODE_OPTIONS)? Their choice wins over ours. */
export function youngGenerationChosen(execArgv: readonly string[]): boolean {
  const chosen = (a: string): boolean => a.startsWith('--max-semi-space-size') || a.startsWith('--semi-space-growth-factor');
  return execArgv.some(chosen) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).some(chosen);
}

/** Is a CPU profiler that samples with SIGPROF on (`--cpu-prof`, `--prof`; execArgv or NODE_OPTIONS)? */
export function cpuProfiled(execArgv: readonly string[]): boolean {
  const profiler = (a: string): boolean => a === '--cpu-prof' || a === '--prof';
  return execArgv.some(profiler) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).some(profiler);
}
