/** bot-detection through the whole gateway: built-in rules, allow / deny, header edge cases, config checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { usePluginRoutes } from '../../helpers/plugin-routes.ts';
import { compilePcre } from '../../../src/plugins/bot-detection/regex.ts';
import { BOTS } from '../../../src/plugins/bot-detection/rules.ts';

const fx = usePluginRoutes('bot-detection', 'bd');

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

async function status(url: string, ua: string | null): Promise<number> {
  const headers: Record<string, string> = {};
  if (ua !== null) headers['user-agent'] = ua;
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res.status;
}

test('built-in rules: bots and HTTP clients refused with 403 Forbidden, browsers and no User-Agent pass', async () => {
  const url = await fx.route({});
  const res = await fetch(url, { headers: { 'user-agent': GOOGLEBOT } });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { message: string }).message, 'Forbidden');
  for (const ua of ['Twitterbot/1.0', 'facebookexternalhit/1.1', 'Go-http-client/1.1', 'python-requests-spider 1.0', 'bingbot/2.0', 'axios/1.7.2']) {
    assert.equal(await status(url, ua), 403, ua);
  }
  assert.equal(await status(url, BROWSER), 200);
  assert.equal(await status(url, 'curl/8.5.0'), 200, 'curl is not in Kong\'s built-in list');
  assert.equal(await status(url, null), 200);
});

test('allow is checked first and overrides the built-in rules; deny blocks a custom User-Agent', async () => {
  const url = await fx.route({ allow: ['Googlebot'], deny: ['^curl/', 'Googlebot'] });
  assert.equal(await status(url, GOOGLEBOT), 200, 'allow wins over deny and the bots list');
  assert.equal(await status(url, 'curl/8.5.0'), 403);
  assert.equal(await status(url, '  curl/8.5.0  '), 403, 'the User-Agent is stripped before matching');
  assert.equal(await status(url, 'bingbot/2.0'), 403, 'built-in rules still apply');
  assert.equal(await status(url, BROWSER), 200);
  // Cached results answer the same.
  assert.equal(await status(url, 'curl/8.5.0'), 403);
  assert.equal(await status(url, GOOGLEBOT), 200);
});

test('more than one User-Agent header: 400', async () => {
  const url = new URL(await fx.route({}));
  const code = await new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: [['User-Agent', 'a'], ['User-Agent', 'b']] as unknown as Record<string, string> }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(code, 400);
});

test('config: a regex that does not compile is a 400 naming the field and position', async () => {
  await fx.gw.admin('POST', '/services/svc/routes', { name: 'bad', paths: ['/bad'] });
  const r = await fx.gw.admin('POST', '/routes/bad/plugins', { name: 'bot-detection', config: { allow: ['ok', '(unclosed'] } });
  assert.equal(r.status, 400);
  assert.deepEqual((r.body as any).fields.config.allow, [null, 'not a valid regex: (unclosed']);
  const d = await fx.gw.admin('POST', '/routes/bad/plugins', { name: 'bot-detection', config: { deny: ['*bot'] } });
  assert.equal(d.status, 400);
  assert.deepEqual((d.body as any).fields.config.deny, ['not a valid regex: *bot']);
  const t = await fx.gw.admin('POST', '/routes/bad/plugins', { name: 'bot-detection', config: { deny: 'x' } });
  assert.equal(t.status, 400);
  const defaults = await fx.gw.admin('POST', '/routes/bad/plugins', { name: 'bot-detection' });
  assert.equal(defaults.status, 201);
  assert.deepEqual((defaults.body as any).config, { allow: [], deny: [] });
});

test('PCRE translation', () => {
  assert.equal(BOTS.length, 14);
  assert.ok(compilePcre('(?i)googlebot').test('GoogleBot'));
  assert.ok(compilePcre('(?P<n>ab)(?P=n)').test('abab'));
  assert.ok(compilePcre('\\Acurl\\z').test('curl'));
  assert.ok(!compilePcre('\\Acurl\\z').test('xcurl'));
  assert.ok(compilePcre('[]a]').test(']'));
  assert.ok(compilePcre('[\\!]').test('!'));
  assert.throws(() => compilePcre('(?x) a b'));
});
