/**
 * The Prometheus exposition a gateway serves, checked by Prometheus' own
 * parser: `promtool check metrics` (Debian package `prometheus`). promtool
 * exits 1 when the text does not parse and 3 when it parses but lint rules
 * object; Kong's own names break three lint rules (kong_bandwidth_bytes is a
 * counter without `_total`, kong_nginx_connections_total a gauge with it,
 * kong_*_latency_ms abbreviate their unit), so
 * lint findings are returned for the caller to compare with Kong's.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PROMTOOL = '/usr/bin/promtool';

export function promtoolAvailable(): boolean {
  return existsSync(PROMTOOL);
}

export interface PromtoolResult {
  /** The text parsed (exit 0 or 3). */
  parsed: boolean;
  /** Lint findings, one per line (`metric_name text`). */
  lint: string[];
  output: string;
}

export function promtoolCheck(text: string): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = output.split('\n').filter((l) => l.trim() !== '');
      resolve({ parsed: code === 0 || code === 3, lint: code === 3 ? lines : [], output });
    });
    child.stdin.end(text);
  });
}

/** The lint findings Kong's own metric names produce (exporter.lua); anything else is ours to fix. */
export const KONG_NAME_LINT: readonly RegExp[] = [
  /^kong_bandwidth_bytes counter metrics should have "_total" suffix$/,
  /^kong_nginx_connections_total non-counter metrics should not have "_total" suffix$/,
  /^kong_nginx_requests_total non-counter metrics should not have "_total" suffix$/,
  // Kong's latency histograms are in milliseconds, named `_ms`.
  /^kong_(kong|upstream|request)_latency_ms metric names should not contain abbreviated units$/,
];
