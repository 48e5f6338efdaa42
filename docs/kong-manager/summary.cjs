// Summarises Playwright JSON reports: per spec file, tests passed / failed / not run (final outcome, retries folded).
const fs = require('fs');
for (const f of process.argv.slice(2)) {
  const r = JSON.parse(fs.readFileSync(f, 'utf8'));
  const per = {};
  const fails = [];
  const walk = (s, file) => {
    for (const sp of s.specs || []) for (const t of sp.tests) {
      const k = (per[file] ??= { passed: 0, failed: 0, notrun: 0 });
      const st = t.status; // expected | unexpected | flaky | skipped
      if (st === 'expected' || st === 'flaky') k.passed++;
      else if (st === 'skipped') k.notrun++;
      else { k.failed++; const res = t.results[t.results.length - 1]; fails.push(`${file} :: ${sp.title} :: ${(res?.error?.message ?? '').split('\n').slice(0, 3).join(' ').replace(/\x1b\[[0-9;]*m/g, '').slice(0, 300)}`); }
    }
    for (const c of s.suites || []) walk(c, file);
  };
  for (const s of r.suites) walk(s, s.file);
  for (const [file, k] of Object.entries(per)) console.log(`${file}: ${k.passed} passed, ${k.failed} failed, ${k.notrun} not run`);
  for (const x of fails) console.log('  FAIL ' + x);
}
