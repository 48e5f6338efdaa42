/** Command-line options of `npm run bench` (bench/run.ts). */
import { availableParallelism } from 'node:os';

export interface BenchOptions {
  quick: boolean;
  scenario: string | undefined;
  /** Seconds of measurement per system per round. */
  duration: number;
  /** Seconds of unrecorded load per system before its first measured round. */
  warmup: number;
  rounds: number;
  connections: number;
  /** Load-generator threads. */
  threads: number;
  /** Worker processes of Portcullis, nginx and Apache. */
  workers: number;
  upstreamWorkers: number;
  upstream: 'auto' | 'nginx' | 'node';
  loadTool: 'auto' | 'wrk' | 'autocannon';
  /** Only these system kinds (direct, nginx, apache, portcullis). */
  systems: string[] | null;
  /** Seconds of soak (0 = no soak). */
  soak: number;
  outDir: string;
  keepTemp: boolean;
  /** Run Portcullis with --cpu-prof; profiles under <out>/profiles/. */
  cpuProf: boolean;
  /** Re-render a results JSON (summaries, ratios, budget, Markdown) without running anything. */
  render: string | undefined;
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

  --quick                 every scenario for ~3 s per system, one round (smoke mode for CI)
  --scenario a,b,e        scenarios to run: a, b (b1, bN), c … k, l (DPoP vs Apache)  (default: all)
  --duration S            seconds measured per system per round (default 8; quick 3; whole seconds with wrk)
  --warmup S              unrecorded seconds before the first round (default 3; quick 1)
  --rounds N              interleaved rounds (default 3; quick 1)
  --connections N         concurrent connections of the load generator (default 50)
  --threads N             load-generator threads (default 2)
  --workers N             worker processes of Portcullis, nginx and Apache (default: CPUs)
  --upstream-workers N    nginx workers of the fixed upstream (default 1)
  --upstream nginx|node   the fixed upstream (default: nginx when installed)
  --load-generator wrk|autocannon   (default: wrk when installed)
  --systems direct,nginx,apache,portcullis   only these systems
  --soak S                soak mode: S seconds at 50% of the measured peak, RSS every 5 s
                          (scenario from --scenario, default bN)
  --out DIR               results directory (default bench/results)
  --render FILE.json      recompute summaries, ratios and budget of a results file and rewrite its .md
  --keep-temp             keep the temp dir with generated configs and logs
  --cpu-prof              run Portcullis with node --cpu-prof: .cpuprofile files (flame graphs in
                          Chrome DevTools / speedscope) under <out>/profiles/, hottest functions printed
`;

function num(v: string | undefined, flag: string, min: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag}: expected a number ≥ ${min} (got ${v ?? 'nothing'})`);
  return n;
}

export function parseArgs(argv: string[]): BenchOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}\n\n${USAGE}`);
    const eq = a.indexOf('=');
    if (eq !== -1) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags.set(a.slice(2), argv[++i]!);
    else flags.set(a.slice(2), true);
  }
  const str = (k: string): string | undefined => {
    const v = flags.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const known = new Set(['quick', 'scenario', 'duration', 'warmup', 'rounds', 'connections', 'threads', 'workers', 'upstream-workers', 'upstream', 'load-generator', 'systems', 'soak', 'out', 'keep-temp', 'cpu-prof', 'render', 'help']);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown option --${k}\n\n${USAGE}`);
  const quick = flags.has('quick');
  const upstream = str('upstream') ?? 'auto';
  if (upstream !== 'auto' && upstream !== 'nginx' && upstream !== 'node') throw new Error('--upstream: nginx or node');
  const loadTool = str('load-generator') ?? 'auto';
  if (loadTool !== 'auto' && loadTool !== 'wrk' && loadTool !== 'autocannon') throw new Error('--load-generator: wrk or autocannon');
  return {
    quick,
    scenario: str('scenario'),
    duration: str('duration') !== undefined ? num(str('duration'), '--duration', 0.5) : quick ? 3 : 8,
    warmup: str('warmup') !== undefined ? num(str('warmup'), '--warmup', 0) : quick ? 1 : 3,
    rounds: str('rounds') !== undefined ? Math.floor(num(str('rounds'), '--rounds', 1)) : quick ? 1 : 3,
    connections: str('connections') !== undefined ? Math.floor(num(str('connections'), '--connections', 1)) : 50,
    threads: str('threads') !== undefined ? Math.floor(num(str('threads'), '--threads', 1)) : 2,
    workers: str('workers') !== undefined ? Math.floor(num(str('workers'), '--workers', 1)) : availableParallelism(),
    upstreamWorkers: str('upstream-workers') !== undefined ? Math.floor(num(str('upstream-workers'), '--upstream-workers', 1)) : 1,
    upstream,
    loadTool,
    systems: str('systems')?.split(',').map((s) => s.trim()) ?? null,
    soak: str('soak') !== undefined ? num(str('soak'), '--soak', 1) : 0,
    outDir: str('out') ?? 'bench/results',
    keepTemp: flags.has('keep-temp'),
    cpuProf: flags.has('cpu-prof'),
    render: str('render'),
    help: flags.has('help'),
  };
}
