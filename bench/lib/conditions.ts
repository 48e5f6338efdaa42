/**
 * The conditions of a run, recorded with its figures: the same ratios on a
 * busier machine are not comparable with a quiet one.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { apacheVersions } from '../systems/apache.ts';

function firstLine(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error !== undefined) return null;
  const text = `${r.stdout}${r.stderr}`.trim();
  return text.split('\n')[0] ?? null;
}

export function cpuModel(): string {
  try {
    return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function loadAverage(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}

export function collectConditions(root: string, loadTool: string, upstreamKind: string): Record<string, unknown> {
  const apache = apacheVersions();
  const commit = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no', '--', 'src'], { encoding: 'utf8' }).stdout.trim() !== '';
  return {
    cpu: `${cpuModel()} × ${availableParallelism()} (available parallelism)`,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    kernel: firstLine('uname', ['-r']) ?? 'unknown',
    'load average at start (1/5/15 min)': loadAverage(),
    node: process.version,
    'load generator': loadTool === 'wrk' ? (firstLine('wrk', ['-v']) ?? 'wrk') : 'autocannon',
    upstream: upstreamKind === 'nginx' ? `nginx return 200 (${firstLine('nginx', ['-v']) ?? ''})` : 'node bench/upstream-server.ts',
    nginx: firstLine('nginx', ['-v']) ?? 'not installed',
    apache: apache.httpd ?? 'not installed',
    'mod_auth_openidc': apache.modAuthOpenidc ?? 'not installed',
    'git commit': commit === '' ? 'unknown' : `${commit}${dirty ? ' (src/ has uncommitted changes)' : ''}`,
    note: 'load generator, upstream, IdP and the systems under test share the machine; other work on it shows in the load average',
  };
}
