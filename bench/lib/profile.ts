/**
 * `--cpu-prof`: Portcullis processes run with Node's --cpu-prof (one
 * .cpuprofile per process, written when it exits; open them in Chrome
 * DevTools or speedscope for a flame graph). The harness prints the
 * functions with the most self time, to point at the hot path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfPct: number;
}

/** Self time by function (summed over the places it appears), the idle/GC/program pseudo-frames included. */
export function hotFunctions(file: string, root: string, top = 15): { samples: number; busy: number; functions: HotFunction[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const self = new Map<string, { name: string; where: string; hits: number }>();
  let total = 0;
  const count = (node: ProfileNode, hits: number): void => {
    const f = node.callFrame;
    const where = f.url === '' ? '' : `${f.url.startsWith('file://') ? relative(root, new URL(f.url).pathname) : f.url}:${f.lineNumber + 1}`;
    const key = `${f.functionName}@${where}`;
    const cur = self.get(key) ?? { name: f.functionName === '' ? '(anonymous)' : f.functionName, where, hits: 0 };
    cur.hits += hits;
    self.set(key, cur);
    total += hits;
  };
  if (profile.samples !== undefined) {
    for (const id of profile.samples) {
      const n = byId.get(id);
      if (n !== undefined) count(n, 1);
    }
  } else {
    for (const n of profile.nodes) if ((n.hitCount ?? 0) > 0) count(n, n.hitCount!);
  }
  const idle = [...self.values()].filter((x) => x.name === '(idle)').reduce((a, x) => a + x.hits, 0);
  const functions = [...self.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((x) => ({ name: x.name, where: x.where, selfPct: total === 0 ? 0 : (x.hits / total) * 100 }));
  return { samples: total, busy: total - idle, functions };
}

export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  } catch {
    return [];
  }
}
