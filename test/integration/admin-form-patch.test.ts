/**
 * `http -f PATCH :8001/plugins/<id> config.x=…` carries no plugin name; the
 * form values must still be converted with the stored plugin's config schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestAdmin, TEST_PLUGIN } from '../helpers/admin-api.ts';

const FORM = 'application/x-www-form-urlencoded';

test('a form PATCH of a plugin converts config values with the stored plugin schema', async () => {
  const t = await startTestAdmin();
  try {
    const created = await t.call('POST', '/plugins', { name: TEST_PLUGIN });
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    const patched = await t.call('PATCH', `/plugins/${id}`, 'config.enabled_flag=true&config.count=7&config.names=a', { type: FORM });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.config.enabled_flag, true);
    assert.equal(patched.body.config.count, 7);
    assert.deepEqual(patched.body.config.names, ['a']);
    const nested = await t.call('PATCH', `/plugins/${id}`, 'config.count=8', { type: FORM });
    assert.equal(nested.status, 200, nested.text);
    assert.equal(nested.body.config.count, 8);
    assert.equal(nested.body.config.enabled_flag, true, 'fields not in the PATCH keep their stored values');
  } finally {
    await t.close();
  }
});
