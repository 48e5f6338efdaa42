/**
 * docs/errors.md lists every code of the error vocabulary (src/core/errors.ts) — answers with
 * the catalog's status and message, causes with the answer they end in and their source — and
 * nothing else; every code is raised somewhere in src/ (no dead codes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ANSWERS, CAUSES, ProxyError, answerOf, type ErrorCode } from '../../../src/core/errors.ts';
import { classifyUpstreamError } from '../../../src/core/proxy/upstream-errors.ts';

const root = new URL('../../../', import.meta.url);
const doc = await readFile(new URL('docs/errors.md', root), 'utf8');

test('docs/errors.md and the answers list the same codes, statuses and messages', () => {
  const rows = new Map<string, { status: number; message: string }>();
  for (const line of doc.split('\n')) {
    const m = /^\| `([A-Z_]+)` \| (\d{3}) \| ([^|]+?) \|/.exec(line);
    if (m !== null) rows.set(m[1]!, { status: Number(m[2]), message: m[3]! });
  }
  for (const [code, entry] of Object.entries(ANSWERS)) {
    const row = rows.get(code);
    assert.ok(row, `${code} is missing from docs/errors.md`);
    assert.equal(row.status, entry.status, `${code}: status`);
    assert.equal(row.message, entry.message, `${code}: message`);
  }
  for (const code of rows.keys()) assert.ok(code in ANSWERS, `docs/errors.md lists ${code}, which the answers do not have`);
});

test('docs/errors.md and the causes list the same codes, answers and sources', () => {
  const rows = new Map<string, { answer: string; source: string }>();
  for (const line of doc.split('\n')) {
    const m = /^\| `([A-Z_]+)` \| `([A-Z_]+)` \| ([a-z-]+) \|/.exec(line);
    if (m !== null) rows.set(m[1]!, { answer: m[2]!, source: m[3]! });
  }
  for (const [code, entry] of Object.entries(CAUSES)) {
    const row = rows.get(code);
    assert.ok(row, `${code} is missing from docs/errors.md`);
    assert.equal(row.answer, entry.answer, `${code}: answer`);
    assert.equal(row.source, entry.source, `${code}: source`);
  }
  for (const code of rows.keys()) assert.ok(code in CAUSES, `docs/errors.md lists ${code}, which the causes do not have`);
});

test('every code is raised somewhere in src/ (besides the catalog itself)', async () => {
  const catalog = new URL('src/core/errors.ts', root).pathname;
  const texts: string[] = [];
  for (const e of await readdir(new URL('src/', root), { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    if (e.isFile() && e.name.endsWith('.ts') && path !== catalog) texts.push(await readFile(path, 'utf8'));
  }
  assert.ok(texts.length > 100, 'src/ was read');
  const all = texts.join('\n');
  // An answer every cause leads to counts as raised through the cause.
  for (const code of [...Object.keys(ANSWERS), ...Object.keys(CAUSES)] as ErrorCode[]) {
    const raised = all.includes(`'${code}'`) || all.includes(`.${code}`) || Object.entries(CAUSES).some(([c, e]) => e.answer === code && all.includes(`'${c}'`));
    assert.ok(raised, `${code} is never raised: remove it from the catalog and docs/errors.md`);
  }
});

test('a cause answers with its answer and keeps the reason for the log', () => {
  const e = new ProxyError('UPSTREAM_READ_TIMEOUT', 'nothing read for 10 ms');
  assert.equal(e.code, 'UPSTREAM_TIMEOUT');
  assert.equal(e.reason, 'UPSTREAM_READ_TIMEOUT');
  assert.equal(e.status, 504);
  assert.equal(e.publicMessage, 'The upstream server is timing out');
  assert.equal(e.detail, 'nothing read for 10 ms');
  const a = new ProxyError('ROUTE_NOT_FOUND');
  assert.equal(a.reason, null);
  assert.equal(answerOf('IDP_UNAVAILABLE'), 'INTERNAL');
});

test('upstream failures: Node codes and the client\'s causes classify as before (answer, retry, timeout)', () => {
  const cases: Array<[string, string, boolean, boolean]> = [
    ['UPSTREAM_CONNECT_TIMEOUT', 'UPSTREAM_TIMEOUT', true, true],
    ['UPSTREAM_READ_TIMEOUT', 'UPSTREAM_TIMEOUT', false, true],
    ['UPSTREAM_WRITE_TIMEOUT', 'UPSTREAM_TIMEOUT', false, true],
    ['ETIMEDOUT', 'UPSTREAM_TIMEOUT', false, true],
    ['ECONNREFUSED', 'UPSTREAM_INVALID_RESPONSE', true, false],
    ['ECONNRESET', 'UPSTREAM_INVALID_RESPONSE', true, false],
    ['UPSTREAM_CLOSED', 'UPSTREAM_INVALID_RESPONSE', true, false],
    ['UPSTREAM_POOL_CLOSED', 'UPSTREAM_INVALID_RESPONSE', true, false],
    ['UPSTREAM_BAD_RESPONSE', 'UPSTREAM_INVALID_RESPONSE', false, false],
    ['HPE_INVALID_CONSTANT', 'UPSTREAM_INVALID_RESPONSE', false, false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'UPSTREAM_INVALID_RESPONSE', false, false],
    ['ENOTFOUND', 'NAME_RESOLUTION_FAILED', false, false],
    ['REQUEST_BODY_ABORTED', 'BAD_REQUEST', false, false],
    ['ERR_STREAM_PREMATURE_CLOSE', 'BAD_REQUEST', false, false],
    ['UPSTREAM_INVALID_REQUEST', 'INTERNAL', false, false],
  ];
  for (const [code, answer, retryable, timeout] of cases) {
    const f = classifyUpstreamError(Object.assign(new Error('x'), { code }));
    assert.deepEqual([f.error.code, f.retryable, f.timeout], [answer, retryable, timeout], code);
  }
  // Once the answer started, a broken client body is the exchange's failure, not a 400.
  assert.equal(classifyUpstreamError(Object.assign(new Error('x'), { code: 'REQUEST_BODY_ABORTED' }), false).error.code, 'UPSTREAM_INVALID_RESPONSE');
  // autoSelectFamily: the last attempt's code.
  assert.equal(classifyUpstreamError(new AggregateError([Object.assign(new Error('a'), { code: 'ENOTFOUND' }), Object.assign(new Error('b'), { code: 'ECONNREFUSED' })])).cause, 'UPSTREAM_CONNECTION_FAILED');
});
