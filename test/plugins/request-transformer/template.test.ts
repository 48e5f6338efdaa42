/** The template interpreter (no eval): what renders, what is refused at configuration time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, render, TemplateError, type Root, type TemplateEnv } from '../../../src/plugins/request-transformer/template.ts';

const env = (values: Partial<Record<Root, unknown>>): TemplateEnv => ({ get: (root) => values[root] });

test('headers, query params, uri captures and shared values render; missing ones render empty', () => {
  const e = env({
    headers: { 'x-user': 'ann', host: 'h' },
    query_params: { q: 'x', multi: ['a', 'b'] },
    uri_captures: { '1': 'first', id: '42' },
    shared: { tenant: { name: 'acme' } },
  });
  assert.equal(render(compileTemplate('$(headers["x-user"])'), e), 'ann');
  assert.equal(render(compileTemplate('$(headers.x_user)'), e), 'ann');
  assert.equal(render(compileTemplate('$(headers["X-User"])'), e), 'ann');
  assert.equal(render(compileTemplate('id=$(uri_captures.id)/$(uri_captures[1])'), e), 'id=42/first');
  assert.equal(render(compileTemplate('$(query_params.q)-$(query_params.multi)'), e), 'x-a, b');
  assert.equal(render(compileTemplate('$(shared.tenant.name)'), e), 'acme');
  assert.equal(render(compileTemplate('[$(headers.missing)]'), e), '[]');
  assert.equal(render(compileTemplate('$(headers.missing or "default")'), e), 'default');
  assert.equal(render(compileTemplate("$('pre' .. headers['x-user'])"), e), 'preann');
  assert.equal(render(compileTemplate('plain text'), e), 'plain text');
});

test('Lua code beyond lookups is refused when compiled', () => {
  assert.throws(() => compileTemplate('$(os.exit())'), TemplateError);
  assert.throws(() => compileTemplate('$((function() return 1 end)())'), TemplateError);
  assert.throws(() => compileTemplate('$(require("x"))'), TemplateError);
  assert.throws(() => compileTemplate('$(headers.x())'), TemplateError);
});
