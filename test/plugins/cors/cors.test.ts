/** cors through the whole gateway: preflights answered at the gateway, headers on proxied responses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usePluginRoutes } from '../../helpers/plugin-routes.ts';
import { compileOrigin, matches, normalizeOrigin } from '../../../src/plugins/cors/origin.ts';

const fx = usePluginRoutes('cors', 'cors');
const route = (config: Record<string, unknown>): Promise<string> => fx.route(config);

const preflight = (origin: string, extra: Record<string, string> = {}) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'POST', ...extra },
});

test('defaults: a preflight is answered 200 by the gateway with *, every method, echoed request headers', async () => {
  const url = await route({});
  const before = fx.echo.requestCount();
  const res = await fetch(url, preflight('https://app.example', { 'access-control-request-headers': 'x-one,x-two' }));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '');
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(res.headers.get('access-control-allow-methods'), 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT');
  assert.equal(res.headers.get('access-control-allow-headers'), 'x-one,x-two');
  assert.equal(res.headers.get('access-control-max-age'), null);
  assert.equal(fx.echo.requestCount(), before, 'the upstream never sees the preflight');
});

test('configured origins, headers, methods, max_age and credentials shape the preflight answer', async () => {
  const url = await route({
    origins: ['https://a.example', 'https://b.example'],
    headers: ['X-Auth', 'Content-Type'],
    methods: ['GET', 'POST'],
    max_age: 3600,
    credentials: true,
  });
  const res = await fetch(url, preflight('https://b.example'));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://b.example');
  assert.equal(res.headers.get('access-control-allow-headers'), 'X-Auth,Content-Type');
  assert.equal(res.headers.get('access-control-allow-methods'), 'GET,POST');
  assert.equal(res.headers.get('access-control-max-age'), '3600');
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(res.headers.get('vary'), 'Origin');

  const other = await fetch(url, preflight('https://evil.example'));
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('access-control-allow-origin'), null);
});

test('a regex origin matches by host and the response echoes the request origin', async () => {
  const url = await route({ origins: ['(.*)\\.example\\.com'], exposed_headers: ['X-Total'] });
  const res = await fetch(url, { headers: { origin: 'https://api.example.com' } });
  assert.equal(res.status, 200);
  await res.text();
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://api.example.com');
  assert.equal(res.headers.get('access-control-expose-headers'), 'X-Total');
  const no = await fetch(url, { headers: { origin: 'https://example.org' } });
  await no.text();
  assert.equal(no.headers.get('access-control-allow-origin'), null);
});

test('credentials with * sends the request origin instead of *', async () => {
  const url = await route({ credentials: true });
  const res = await fetch(url, { headers: { origin: 'https://x.example' } });
  await res.text();
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://x.example');
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
});

test('preflight_continue hands the preflight to the upstream without CORS headers', async () => {
  const url = await route({ preflight_continue: true });
  const before = fx.echo.requestCount();
  const res = await fetch(url, preflight('https://a.example'));
  await res.text();
  assert.equal(fx.echo.requestCount(), before + 1);
  assert.equal(res.headers.get('access-control-allow-methods'), null);
});

test('private_network answers Access-Control-Allow-Private-Network when asked', async () => {
  const url = await route({ private_network: true });
  const res = await fetch(url, preflight('https://a.example', { 'access-control-request-private-network': 'true' }));
  assert.equal(res.headers.get('access-control-allow-private-network'), 'true');
});

test('allow_origin_absent false: no CORS headers on requests without Origin', async () => {
  const url = await route({ allow_origin_absent: false });
  const res = await fetch(url);
  await res.text();
  assert.equal(res.headers.get('access-control-allow-origin'), null);
});

test('an invalid origin regex and an unknown method are rejected', async () => {
  let r = await fx.gw.admin('POST', '/schemas/plugins/validate', { name: 'cors', config: { origins: ['https://ok.example', '(unclosed'] } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body.fields.config.origins, [null, "'(unclosed' is not a valid regex"]);
  r = await fx.gw.admin('POST', '/schemas/plugins/validate', { name: 'cors', config: { methods: ['FETCH'] } });
  assert.equal(r.status, 400);
});

test('origin normalisation drops default ports; regexes are anchored', () => {
  assert.equal(normalizeOrigin('https://a.example:443').domain, 'https://a.example');
  assert.equal(normalizeOrigin('http://a.example:8080').domain, 'http://a.example:8080');
  const m = compileOrigin('a\\.example');
  assert.equal(matches(m, normalizeOrigin('https://a.example')), true);
  assert.equal(matches(m, normalizeOrigin('https://a.example.evil')), false);
  assert.equal(matches(m, normalizeOrigin('https://xa.example')), false);
});
