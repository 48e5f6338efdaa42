/**
 * The template plugin users copy (docs/plugins/template/) passes its own
 * tests, run as a user runs them (`node --test`), against this checkout's
 * Portcullis (PORTCULLIS names the command).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = new URL('../../../', import.meta.url).pathname;

test("the template plugin's own tests pass against this Portcullis", { timeout: 300_000 }, async () => {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KONG_') && !k.startsWith('NODE_TEST'))),
    PORTCULLIS: `${process.execPath} ${REPO}bin/portcullis.js`,
  };
  const { stdout } = await run(process.execPath, ['--test', '--test-reporter=tap', 'docs/plugins/template/my-header.test.ts'], { cwd: REPO, env, timeout: 240_000 });
  assert.match(stdout, /# pass 3\n/);
  assert.match(stdout, /# fail 0\n/);
});
