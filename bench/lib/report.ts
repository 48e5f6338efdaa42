/**
 * Results: per-system summaries over the interleaved rounds, ratios of each
 * Portcullis figure to the peer and to the direct upstream, the budget of
 * issue 5, and the JSON / Markdown written under bench/results/.
 */
import type { RunRecord } from './measure.ts';
import type { SystemKind } from './types.ts';

export interface Summary {
  rps: number;
  /** Milliseconds, median over the rounds. */
  p50: number;
  p99: number;
  p999: number;
  non2xx: number;
  socketErrors: number;
  peakRssMB: number;
  /** Peak PSS of the tree (0 in results written before it was measured). */
  peakPssMB: number;
  peakProcessRssMB: number;
  processes: number;
  /** Median CPU µs per request of the process tree, user and kernel (0 when not recorded). */
  cpuUser: number;
  cpuSystem: number;
  idpRequests: number | null;
  /** Rate limit reached: admitted (upstream) and 429 answers summed, and the round farthest from the limit (admitted ÷ limit × seconds). */
  limit?: { admitted: number; expected: number; limited: number; worstRatio: number };
}

export interface SystemResult {
  kind: SystemKind;
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  notes: string[];
  runs: RunRecord[];
  summary?: Summary;
  /** --cpu-prof: the hottest functions of the busiest process. */
  profile?: { file: string; samples: number; functions: Array<{ name: string; where: string; selfPct: number }> };
  ratios?: { peerRps?: number; peerP99?: number; directRps?: number; baselineRps?: number };
}

export interface ScenarioResult {
  id: string;
  title: string;
  description: string;
  peer: SystemKind | null;
  systems: SystemResult[];
  routeCompile?: RouteCompileResult;
}

export interface RouteCompileResult {
  routes: number;
  /** Median of the repetitions, milliseconds. */
  compileMs: number;
  parseMs: number;
  runs: number[];
}

export interface SoakResult {
  scenario: string;
  durationS: number;
  peakRps: number;
  targetRps: number;
  achievedRps: number;
  connections: number;
  delayMs: number;
  errors: { non2xx: number; socket: number };
  samples: Array<{ t: number; rssMB: number; maxProcessMB: number }>;
  baselineMB: number;
  finalMB: number;
  growthPct: number;
  p99: number;
}

export interface BudgetCheck {
  name: string;
  value: number | null;
  threshold: string;
  pass: boolean | null;
  detail: string;
}

/** Scenario (l), run by bench/dpop-vs-bearer.ts: medians over its interleaved rounds. */
export interface DpopResult {
  rounds: number;
  duration_s: number;
  /** Per system (bearer, dpop, apache): median req/s, p99 ms, CPU µs per request of the system itself. */
  systems: Record<string, { rps: number; p99: number; cpu: number } | null>;
  /** DPoP req/s ÷ Apache plain-bearer req/s (null without Apache). */
  dpopVsApache: number | null;
  dpopVsBearer: number | null;
  /** Why it did not run, when it did not. */
  failed?: string;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  mode: 'quick' | 'full' | 'soak';
  conditions: Record<string, unknown>;
  options: Record<string, unknown>;
  scenarios: ScenarioResult[];
  soak?: SoakResult;
  dpop?: DpopResult;
  budget: BudgetCheck[];
}

const MB = 1024 * 1024;

/** Median (mean of the middle two for an even count): one round disturbed by other work on a shared machine does not move it. */
export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Over the interleaved rounds: the median of each figure, errors summed, memory peaks. */
export function summarize(runs: RunRecord[]): Summary {
  const idp = runs.map((r) => r.idpRequests).filter((x): x is number => x !== null);
  const limited = runs.filter((r) => r.limit !== undefined);
  let limit: Summary['limit'];
  if (limited.length > 0) {
    const ratios = limited.map((r) => r.limit!.admitted / r.limit!.expectedAdmitted);
    limit = {
      admitted: limited.reduce((a, r) => a + r.limit!.admitted, 0),
      expected: limited.reduce((a, r) => a + r.limit!.expectedAdmitted, 0),
      limited: limited.reduce((a, r) => a + r.limit!.limited, 0),
      worstRatio: ratios.reduce((w, x) => (Math.abs(x - 1) > Math.abs(w - 1) ? x : w), 1),
    };
  }
  return {
    ...(limit !== undefined ? { limit } : {}),
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.latency.p50)),
    p99: median(runs.map((r) => r.latency.p99)),
    p999: median(runs.map((r) => r.latency.p999)),
    non2xx: runs.reduce((a, r) => a + r.errors.non2xx, 0),
    socketErrors: runs.reduce((a, r) => a + r.errors.socket, 0),
    peakRssMB: Math.max(0, ...runs.map((r) => r.peakRssBytes)) / MB,
    peakPssMB: Math.max(0, ...runs.map((r) => r.peakPssBytes ?? 0)) / MB,
    peakProcessRssMB: Math.max(0, ...runs.map((r) => r.peakProcessRssBytes)) / MB,
    processes: Math.max(0, ...runs.map((r) => r.processes)),
    // Older results files have no CPU figures.
    cpuUser: median(runs.map((r) => r.cpuUsPerRequest?.user ?? 0)),
    cpuSystem: median(runs.map((r) => r.cpuUsPerRequest?.system ?? 0)),
    idpRequests: idp.length === 0 ? null : idp.reduce((a, b) => a + b, 0),
  };
}

/** Fill `ratios` of every Portcullis system: to the peer, to the direct upstream, and (routes) to the 1-route gateway. */
export function computeRatios(s: ScenarioResult): void {
  const ok = s.systems.filter((x) => x.status === 'ok' && x.summary !== undefined);
  const direct = ok.find((x) => x.kind === 'direct')?.summary;
  const peer = s.peer === null ? undefined : ok.find((x) => x.kind === s.peer)?.summary;
  const portcullis = ok.filter((x) => x.kind === 'portcullis');
  const baseline = s.id === 'e' ? portcullis[0]?.summary : undefined;
  for (const p of portcullis) {
    const sum = p.summary!;
    p.ratios = {};
    if (peer !== undefined && peer.rps > 0) {
      p.ratios.peerRps = sum.rps / peer.rps;
      if (peer.p99 > 0) p.ratios.peerP99 = sum.p99 / peer.p99;
    }
    if (direct !== undefined && direct.rps > 0) p.ratios.directRps = sum.rps / direct.rps;
    if (baseline !== undefined && baseline !== sum && baseline.rps > 0) p.ratios.baselineRps = sum.rps / baseline.rps;
  }
  if (peer !== undefined && direct !== undefined && direct.rps > 0) {
    const peerSys = ok.find((x) => x.kind === s.peer)!;
    peerSys.ratios = { directRps: peer.rps / direct.rps };
  }
}

function find(report: BenchReport, scenario: string, kind: SystemKind, label?: string): SystemResult | undefined {
  return report.scenarios.find((s) => s.id === scenario)?.systems.find((x) => x.kind === kind && (label === undefined || x.label === label) && x.status === 'ok');
}

function check(name: string, value: number | null, threshold: string, ok: (v: number) => boolean, detail: string): BudgetCheck {
  return { name, value, threshold, pass: value === null ? null : ok(value), detail };
}

/** The budget of issue 5 ("ratios in one run, not absolute times"); null = not measured in this run. */
export function evaluateBudget(report: BenchReport): BudgetCheck[] {
  const out: BudgetCheck[] = [];
  const has = (id: string): boolean => report.scenarios.some((s) => s.id === id);
  if (has('b1')) {
    const p = find(report, 'b1', 'portcullis');
    out.push(check('(b) one token: req/s vs Apache mod_auth_openidc', p?.ratios?.peerRps ?? null, '≥ 1.5×', (v) => v >= 1.5, 'portcullis ÷ apache requests/s'));
    out.push(check('(b) one token: p99 vs Apache mod_auth_openidc', p?.ratios?.peerP99 ?? null, '≤ 1.0×', (v) => v <= 1.0, 'portcullis p99 ÷ apache p99'));
  }
  if (has('bN')) {
    const p = find(report, 'bN', 'portcullis');
    out.push(check('(b) 1,000 tokens: req/s vs Apache mod_auth_openidc', p?.ratios?.peerRps ?? null, '≥ 1.0×', (v) => v >= 1.0, 'portcullis ÷ apache requests/s'));
  }
  if (has('a')) {
    const p = find(report, 'a', 'portcullis');
    out.push(check('(a) plain proxy: req/s vs nginx', p?.ratios?.peerRps ?? null, '≥ 0.7×', (v) => v >= 0.7, 'portcullis ÷ nginx requests/s'));
  }
  if (has('f')) {
    const p = find(report, 'f', 'portcullis', 'portcullis rate-limiting local');
    out.push(check('(f) rate-limiting local: req/s vs nginx limit_req', p?.ratios?.peerRps ?? null, '≥ 0.7×', (v) => v >= 0.7, 'portcullis ÷ nginx requests/s'));
  }
  if (has('g')) {
    const p = find(report, 'g', 'portcullis');
    const l = p?.summary?.limit;
    out.push(
      check('(g) rate limit reached: admitted ÷ (limit × seconds)', l?.worstRatio ?? null, 'within ±1%', (v) => Math.abs(v - 1) <= 0.01, l === undefined ? 'not measured' : `${l.admitted} admitted of ${l.expected}, ${l.limited} × 429, round farthest from the limit`),
    );
  }
  if (has('h')) {
    const p = find(report, 'h', 'portcullis');
    out.push(check('(h) proxy-cache hits: req/s vs nginx proxy_cache', p?.ratios?.peerRps ?? null, '≥ 0.7×', (v) => v >= 0.7, 'portcullis ÷ nginx requests/s, every request a cache hit'));
  }
  if (report.dpop !== undefined) {
    const d = report.dpop;
    out.push(check('(l) DPoP-bound token with a proof: req/s vs Apache plain bearer', d.dpopVsApache, '≥ 1.5×', (v) => v >= 1.5, d.failed ?? 'portcullis DPoP ÷ apache one-token bearer requests/s (bench/dpop-vs-bearer.ts)'));
  }
  const e = report.scenarios.find((s) => s.id === 'e');
  if (e !== undefined) {
    const p10k = e.systems.find((x) => x.kind === 'portcullis' && x.label.includes('10,000') && x.status === 'ok');
    out.push(check('(e) 10,000 routes: req/s vs 1 route', p10k?.ratios?.baselineRps ?? null, '≥ 0.9×', (v) => v >= 0.9, 'same request mix, interleaved'));
    out.push(check('(e) route compilation, 10,000 routes', e.routeCompile?.compileMs ?? null, '< 1000 ms', (v) => v < 1000, 'compileRouter() median, bench/micro/route-compile.ts'));
    out.push(check('(e) RSS per worker, 10,000 routes', p10k?.summary?.peakProcessRssMB ?? null, '< 200 MB', (v) => v < 200, 'largest worker process (child of the primary) under load'));
  }
  for (const s of report.scenarios) {
    for (const x of s.systems) {
      if (x.kind !== 'portcullis') continue;
      const errors = x.summary === undefined ? null : x.summary.non2xx + x.summary.socketErrors;
      out.push(check(`${s.title}: ${x.label} errors`, x.status === 'ok' ? errors : null, '= 0', (v) => v === 0, x.status === 'ok' ? 'non-2xx + socket errors over all rounds' : `${x.status}: ${x.reason ?? ''}`));
    }
  }
  if (report.soak !== undefined) {
    out.push(check(`soak ${report.soak.durationS} s at 50% of peak: RSS growth`, report.soak.growthPct, '< 10%', (v) => v < 10, `${report.soak.baselineMB.toFixed(1)} MB → ${report.soak.finalMB.toFixed(1)} MB`));
    out.push(check(`soak ${report.soak.durationS} s: errors`, report.soak.errors.non2xx + report.soak.errors.socket, '= 0', (v) => v === 0, 'non-2xx + socket errors'));
  }
  return out;
}

// ---- Markdown --------------------------------------------------------------

const f0 = (n: number): string => Math.round(n).toLocaleString('en');
const f2 = (n: number): string => n.toFixed(2);
const ratio = (n: number | undefined): string => (n === undefined ? '' : `${n.toFixed(2)}×`);

export function markdown(report: BenchReport): string {
  const lines: string[] = [];
  lines.push(`# Portcullis benchmark — ${report.startedAt}`);
  lines.push('');
  lines.push(`Mode: **${report.mode}**. Ratios are within this run (systems interleaved), not absolute times; each figure is the median over the rounds.`);
  lines.push('');
  lines.push('## Conditions');
  lines.push('');
  for (const [k, v] of Object.entries(report.conditions)) lines.push(`- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  lines.push(`- options: ${JSON.stringify(report.options)}`);
  lines.push('');
  if (report.budget.length > 0) {
    lines.push('## Budget (issue 5)');
    lines.push('');
    lines.push('| check | measured | budget | result |');
    lines.push('|---|---:|---|---|');
    for (const b of report.budget) {
      const v = b.value === null ? 'not measured' : Number.isInteger(b.value) ? String(b.value) : b.value.toFixed(2);
      lines.push(`| ${b.name} | ${v} | ${b.threshold} | ${b.pass === null ? '—' : b.pass ? 'pass' : '**FAIL**'}${b.pass === null && b.detail !== '' ? ` (${b.detail})` : ''} |`);
    }
    lines.push('');
  }
  if (report.dpop !== undefined) {
    const d = report.dpop;
    lines.push('## (l) bearer token with a DPoP proof vs Apache plain bearer');
    lines.push('');
    lines.push(`bench/dpop-vs-bearer.ts: the same gateway serving a plain bearer route and a DPoP route (a fresh proof per request, unique jti), Apache mod_auth_openidc validating the plain bearer token; ${d.rounds} interleaved round(s) of ${d.duration_s} s.${d.failed !== undefined ? ` Not measured: ${d.failed}` : ''}`);
    lines.push('');
    lines.push('| system | req/s | p99 ms | CPU µs/request |');
    lines.push('|---|---:|---:|---:|');
    for (const [name, v] of Object.entries(d.systems)) lines.push(`| ${name} | ${v === null ? '—' : Math.round(v.rps).toLocaleString('en')} | ${v === null ? '—' : v.p99.toFixed(2)} | ${v === null ? '—' : Math.round(v.cpu)} |`);
    lines.push('');
  }
  for (const s of report.scenarios) {
    lines.push(`## ${s.title}`);
    lines.push('');
    lines.push(s.description);
    lines.push('');
    lines.push(`| system | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx | socket err | peak RSS MB (tree) | peak PSS MB (tree) | largest worker MB | CPU µs/req user + kernel | ${s.id === 'e' ? '× 1 route' : `× ${s.peer ?? 'peer'}`} | × direct |`);
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const x of s.systems) {
      if (x.status !== 'ok' || x.summary === undefined) {
        lines.push(`| ${x.label} | ${x.status}: ${(x.reason ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 300)} | | | | | | | | | | | |`);
        continue;
      }
      const m = x.summary;
      const peerCol = s.id === 'e' ? ratio(x.ratios?.baselineRps) : x.kind === 'portcullis' ? `${ratio(x.ratios?.peerRps)}${x.ratios?.peerP99 !== undefined ? ` (p99 ${ratio(x.ratios.peerP99)})` : ''}` : '';
      lines.push(`| ${x.label} | ${f0(m.rps)} | ${f2(m.p50)} | ${f2(m.p99)} | ${f2(m.p999)} | ${m.non2xx} | ${m.socketErrors} | ${m.peakRssMB.toFixed(1)} | ${m.peakPssMB > 0 ? m.peakPssMB.toFixed(1) : ''} | ${m.peakProcessRssMB.toFixed(1)} | ${m.cpuUser > 0 || m.cpuSystem > 0 ? `${m.cpuUser.toFixed(1)} + ${m.cpuSystem.toFixed(1)} = ${(m.cpuUser + m.cpuSystem).toFixed(1)}` : ''} | ${peerCol} | ${ratio(x.ratios?.directRps)} |`);
    }
    if (s.routeCompile !== undefined) {
      lines.push('');
      lines.push(`Route compilation (compileRouter, ${s.routeCompile.routes.toLocaleString('en')} routes): **${s.routeCompile.compileMs.toFixed(1)} ms** median of ${s.routeCompile.runs.length} (declarative parse + validation of the same file: ${s.routeCompile.parseMs.toFixed(0)} ms).`);
    }
    for (const x of s.systems) {
      const l = x.summary?.limit;
      if (l === undefined) continue;
      lines.push('');
      lines.push(`${x.label}: **${l.admitted.toLocaleString('en')} admitted** (2xx answers) of ${l.expected.toLocaleString('en')} = limit × UTC seconds the rounds touched (${(l.admitted / l.expected).toFixed(4)}; round farthest off ${l.worstRatio.toFixed(4)}), ${l.limited.toLocaleString('en')} answered 429; non-2xx above counts answers other than 429.`);
    }
    const idp = s.systems.filter((x) => x.summary?.idpRequests !== null && x.summary?.idpRequests !== undefined && x.kind !== 'direct');
    if (idp.length > 0) {
      lines.push('');
      lines.push(`IdP requests during the measured rounds: ${idp.map((x) => `${x.label} ${x.summary!.idpRequests}`).join(', ')}.`);
    }
    lines.push('');
    for (const x of s.systems) for (const n of x.notes) lines.push(`- ${x.label}: ${n}`);
    lines.push('');
    for (const x of s.systems) {
      if (x.profile === undefined) continue;
      lines.push(`CPU profile of ${x.label} (busiest process, ${x.profile.samples} samples, \`${x.profile.file}\`), self time:`);
      lines.push('');
      lines.push('| self % | function | where |');
      lines.push('|---:|---|---|');
      for (const f of x.profile.functions) lines.push(`| ${f.selfPct.toFixed(1)} | ${f.name.replace(/\|/g, '\\|')} | ${f.where} |`);
      lines.push('');
    }
  }
  if (report.soak !== undefined) {
    const k = report.soak;
    lines.push(`## Soak (${k.scenario}, ${k.durationS} s)`);
    lines.push('');
    lines.push(`Peak ${f0(k.peakRps)} req/s → offered ${f0(k.targetRps)} req/s (${k.connections} connections, ${k.delayMs} ms pause), achieved ${f0(k.achievedRps)} req/s, p99 ${f2(k.p99)} ms, errors ${k.errors.non2xx + k.errors.socket}.`);
    lines.push(`RSS (process tree) ${k.baselineMB.toFixed(1)} MB after warm-up → ${k.finalMB.toFixed(1)} MB at the end: **${k.growthPct >= 0 ? '+' : ''}${k.growthPct.toFixed(1)}%**.`);
    lines.push('');
    lines.push('| t (s) | RSS MB (tree) | largest worker MB |');
    lines.push('|---:|---:|---:|');
    for (const x of k.samples) lines.push(`| ${x.t.toFixed(0)} | ${x.rssMB.toFixed(1)} | ${x.maxProcessMB.toFixed(1)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The plain-text table printed while the bench runs and at the end. */
export function consoleTable(s: ScenarioResult): string {
  const rows: string[][] = [['system', 'req/s', 'p50', 'p99', 'p99.9', 'non2xx', 'sock', 'RSS MB', 'PSS MB', 'worker', 'x peer', 'x direct']];
  for (const x of s.systems) {
    if (x.status !== 'ok' || x.summary === undefined) {
      rows.push([x.label, `${x.status}: ${(x.reason ?? '').replace(/\s+/g, ' ').slice(0, 100)}`]);
      continue;
    }
    const m = x.summary;
    rows.push([
      x.label,
      f0(m.rps),
      f2(m.p50),
      f2(m.p99),
      f2(m.p999),
      String(m.non2xx),
      String(m.socketErrors),
      m.peakRssMB.toFixed(1),
      m.peakPssMB > 0 ? m.peakPssMB.toFixed(1) : '',
      m.peakProcessRssMB.toFixed(1),
      s.id === 'e' ? ratio(x.ratios?.baselineRps) : x.kind === 'portcullis' ? ratio(x.ratios?.peerRps) : '',
      ratio(x.ratios?.directRps),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.filter((r) => r.length > 2).map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => (r.length <= 2 ? `  ${r[0]!.padEnd(widths[0]!)}  ${r[1] ?? ''}` : `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`))
    .join('\n');
}
