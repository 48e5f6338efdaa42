/**
 * Cost of the prometheus plugin's log phase on the request path (issue 16):
 * what one request with every option on records (status + the three latency
 * histograms + bandwidth), on 1 and 100 routes, with and without a consumer
 * label; and the openid-connect decision counter. The decision between
 * in-process counters summed at scrape time and node-state SQLite (an upsert
 * per series, 9–20 µs, docs/ARCHITECTURE.md) rests on these figures.
 *
 *   node bench/micro/metrics-record.ts [--json]
 */
import { LabelledCounter, ProxyMetrics } from '../../src/core/metrics.ts';
import type { RouteEntity, ServiceEntity } from '../../src/schema/entities/types.ts';
import { benchSync, printResults, type MicroResult } from './harness.ts';

export function runMetricsRecord(minMs = 1000): MicroResult[] {
  const m = new ProxyMetrics();
  const svc = { id: 's', name: 'svc', host: 'h' } as ServiceEntity;
  const routes = Array.from({ length: 100 }, (_, i) => ({ id: `r${i}`, name: `route-${i}` }) as RouteEntity);
  const one = routes[0]!;
  const record = (route: RouteEntity, consumer: string, i: number): void => {
    m.recordStatus(route, svc, consumer, i % 10 === 0 ? 404 : 200, i % 10 !== 0);
    m.recordLatencies(route, svc, 3 + (i % 50), 2 + (i % 40), 1 + (i % 5));
    m.recordBandwidth(route, svc, consumer, 120, 900);
  };
  const counter = new LabelledCounter(m.registry, 'bench_decisions_total', 'bench', ['service', 'route', 'outcome', 'code', 'reason']);
  return [
    benchSync('prometheus log phase, every option on, 1 route', (i) => record(one, '', i), { minMs }),
    benchSync('prometheus log phase, every option on, 100 routes', (i) => record(routes[i % 100]!, '', i), { minMs }),
    benchSync('prometheus log phase, per_consumer (10 consumers)', (i) => record(one, `consumer-${i % 10}`, i), { minMs }),
    benchSync('openid-connect decision counter', (i) => counter.inc(['svc', 'route-0', 'allow', '', i % 2 === 0 ? 'bearer' : 'session']), { minMs }),
  ];
}

if (import.meta.main) {
  const results = runMetricsRecord();
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(results)}\n`);
  else printResults('metrics recording (per request)', results);
}
