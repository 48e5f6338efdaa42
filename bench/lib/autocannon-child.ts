/**
 * Fallback load generator, used only when `wrk` is not installed: runs
 * autocannon in this separate Node process and prints the same
 * "BENCH_RESULT {json}" line as bench/lua/bench.lua.
 *
 * argv: base requestsFile durationS connections workers delayMs
 */
import { readFileSync } from 'node:fs';

interface AutocannonLatency {
  mean: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
}
interface AutocannonResult {
  requests: { total: number };
  duration: number;
  latency: AutocannonLatency;
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

const [base, file, duration, connections, workers, delayMs] = process.argv.slice(2);
if (base === undefined || file === undefined) {
  process.stderr.write('usage: autocannon-child.ts BASE REQUESTS_FILE DURATION CONNECTIONS WORKERS DELAY_MS\n');
  process.exit(2);
}
const name = 'autocannon';
const mod = (await import(name)) as { default: Autocannon };
const requests = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((line) => {
    const [path, ...hdrs] = line.split('\t');
    const headers: Record<string, string> = {};
    for (const h of hdrs) {
      const i = h.indexOf(':');
      if (i > 0) headers[h.slice(0, i)] = h.slice(i + 1).trim();
    }
    return { method: 'GET', path, headers };
  });
const delay = Number(delayMs ?? 0);
const result = await mod.default({
  url: base,
  connections: Number(connections),
  duration: Number(duration),
  workers: Math.max(0, Number(workers) - 1) || undefined,
  requests,
  timeout: 10,
  ...(delay > 0 ? { connectionRate: Math.max(1, Math.round(1000 / delay)) } : {}),
});
const out = {
  tool: 'autocannon',
  requests: result.requests.total,
  durationS: result.duration,
  rps: result.requests.total / result.duration,
  latency: { mean: result.latency.mean, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, p999: result.latency.p99_9, max: result.latency.max },
  // autocannon counts socket errors together; non-2xx responses separately.
  errors: { status: result.non2xx, connect: result.errors - result.timeouts, read: 0, write: 0, timeout: result.timeouts },
};
process.stdout.write(`BENCH_RESULT ${JSON.stringify(out)}\n`);
