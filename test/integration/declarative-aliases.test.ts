/**
 * Issue 11, item 5: a kong.yml as Insomnia's openapi-2-kong writes it (one
 * anchor per shared block, reused by every operation) loads through POST
 * /config however many aliases it holds, as in Kong; a billion-laughs
 * document is refused quickly, with an error that says why.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestAdmin, type TestAdmin } from '../helpers/admin-api.ts';

/** 120 operations, each route merging a shared anchor and reusing the tag list: 239 aliases. */
function openapiStyle(operations: number): string {
  const lines = [
    '_format_version: "3.0"',
    'services:',
    '- name: petstore',
    '  url: http://petstore.internal:8080/v1',
    '  tags: &api_tags [openapi, petstore]',
    '  routes:',
  ];
  for (let i = 0; i < operations; i++) {
    lines.push(`  - name: petstore-op${i}`);
    if (i === 0) lines.push('    <<: &route_defaults', '      strip_path: false', '      preserve_host: false', '      methods: [GET, POST]');
    else lines.push('    <<: *route_defaults');
    lines.push(`    paths: ["~/pets/${i}$"]`, '    tags: *api_tags');
  }
  return lines.join('\n') + '\n';
}

function billionLaughs(): string {
  const lines = ['_format_version: "3.0"', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  const names = 'bcdefghi'.split('');
  let prev = 'a';
  for (const n of names) {
    lines.push(`${n}: &${n} [${Array(10).fill(`*${prev}`).join(',')}]`);
    prev = n;
  }
  lines.push(`services: *${prev}`);
  return lines.join('\n') + '\n';
}

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin({ dbless: true });
});
after(async () => {
  await t.close();
});

describe('declarative YAML aliases', () => {
  it('a 120-operation openapi-2-kong style kong.yml with 239 aliases loads via POST /config', async () => {
    const text = openapiStyle(120);
    assert.ok((text.match(/\*\w+/g) ?? []).length > 100);
    const res = await t.call('POST', '/config', { config: text });
    assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 500));
    const routes = await t.call('GET', '/services/petstore/routes?size=1000');
    assert.equal(routes.body.data.length, 120);
    assert.deepEqual(routes.body.data[0].tags, ['openapi', 'petstore']);
  });

  it('a billion-laughs document is refused quickly with a clear error', async () => {
    const started = Date.now();
    const res = await t.call('POST', '/config', { config: billionLaughs() });
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(res.body), /billion laughs/);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });
});
