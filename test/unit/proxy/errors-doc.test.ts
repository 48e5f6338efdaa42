/** docs/errors.md lists every proxy error code with the catalog's status and message, and nothing else. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { PROXY_ERRORS } from '../../../src/core/errors.ts';

test('docs/errors.md and the error catalog list the same codes, statuses and messages', async () => {
  const doc = await readFile(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { status: number; message: string }>();
  for (const line of doc.split('\n')) {
    const m = /^\| `([A-Z_]+)` \| (\d{3}) \| ([^|]+?) \|/.exec(line);
    if (m !== null) rows.set(m[1]!, { status: Number(m[2]), message: m[3]! });
  }
  for (const [code, entry] of Object.entries(PROXY_ERRORS)) {
    const row = rows.get(code);
    assert.ok(row, `${code} is missing from docs/errors.md`);
    assert.equal(row.status, entry.status, `${code}: status`);
    assert.equal(row.message, entry.message, `${code}: message`);
  }
  for (const code of rows.keys()) assert.ok(code in PROXY_ERRORS, `docs/errors.md lists ${code}, which the catalog does not have`);
});
