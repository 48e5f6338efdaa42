/**
 * V8 flags the node sets on its own processes, and whether the operator chose
 * them first: the cluster primary's (src/cli/commands/start.ts replaces the
 * process with them, src/cluster.ts keeps them off the workers' command line)
 * and the proxy workers' (src/cluster.ts `workerExecArgv`).
 */
import process from 'node:process';

/** Set in the environment once the primary has replaced itself with its flags. */
export const PRIMARY_EXEC = 'PORTCULLIS_PRIMARY_EXEC';
/** The primary's young generation: it serves the Admin API, not the proxy. */
export const PRIMARY_V8_FLAG = '--max-semi-space-size=2';

/** Does any argument on the command line (`execArgv`) or in NODE_OPTIONS pass `test`? */
function operatorPassed(execArgv: readonly string[], test: (arg: string) => boolean): boolean {
  return execArgv.some(test) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).some(test);
}

/** Did the operator size V8's young generation (in `execArgv` or NODE_OPTIONS)? Their choice wins over ours. */
export function youngGenerationChosen(execArgv: readonly string[]): boolean {
  return operatorPassed(execArgv, (a) => a.startsWith('--max-semi-space-size') || a.startsWith('--semi-space-growth-factor'));
}

/** Is a CPU profiler that samples with SIGPROF on (`--cpu-prof`, `--prof`; execArgv or NODE_OPTIONS)? */
export function cpuProfiled(execArgv: readonly string[]): boolean {
  return operatorPassed(execArgv, (a) => a === '--cpu-prof' || a === '--prof');
}

/** Did the operator turn V8's allocation-site pretenuring on or off (`_` and `-` are the same to V8)? Their choice wins. */
export function pretenuringChosen(execArgv: readonly string[]): boolean {
  return operatorPassed(execArgv, (a) => /^--(no-)?allocation-site-pretenuring(=|$)/.test(a.replace(/_/g, '-')));
}

/**
 * Did the operator set V8's old-generation growth (`--heap-growing-percent`, either spelling) on the node's
 * command line? Their choice wins. Only there: Node refuses the flag in NODE_OPTIONS.
 */
export function heapGrowthChosen(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => /^--heap-growing-percent(=|$)/.test(a.replace(/_/g, '-')));
}
