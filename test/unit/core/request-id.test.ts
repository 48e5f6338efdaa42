/** Request ids: Kong's 32-hex shape, unique. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRequestId } from '../../../src/core/request-id.ts';

test('request ids are 32 lower-case hex characters and do not repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const id = nextRequestId();
    assert.match(id, /^[0-9a-f]{32}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 10_000);
});
