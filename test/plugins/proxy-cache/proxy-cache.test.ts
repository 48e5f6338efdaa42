/**
 * proxy-cache through the whole gateway: a real upstream (the echo server,
 * and a small scripted one for headers the echo never sends), Kong's
 * X-Cache-Status / X-Cache-Key / Age headers and Admin API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { withClockAhead } from '../../helpers/wait.ts';

let gw: TestGateway;
let echo: Echo;
let scripted: Server;
let scriptedUrl: string;
/** Hits per path on the scripted upstream. */
const scriptedHits = new Map<string, number>();
let n = 0;

/**
 * /<anything>?type=…&cc=…&status=…&expires=… answers with those headers;
 * /slow sends one chunk, then the rest 400 ms later.
 */
function scriptedHandler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  scriptedHits.set(url.pathname, (scriptedHits.get(url.pathname) ?? 0) + 1);
  if (url.pathname.endsWith('/slow')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first;');
    setTimeout(() => res.end('second'), 400);
    return;
  }
  const headers: Record<string, string> = { 'content-type': url.searchParams.get('type') ?? 'application/json' };
  const cc = url.searchParams.get('cc');
  if (cc !== null) headers['cache-control'] = cc;
  const expires = url.searchParams.get('expires');
  if (expires !== null) headers['expires'] = expires;
  headers['x-upstream-count'] = String(scriptedHits.get(url.pathname));
  res.writeHead(Number(url.searchParams.get('status') ?? 200), headers);
  res.end(JSON.stringify({ path: url.pathname, count: scriptedHits.get(url.pathname) }));
}

before(async () => {
  echo = await startEcho();
  scripted = createServer(scriptedHandler);
  await new Promise<void>((resolve) => scripted.listen(0, '127.0.0.1', resolve));
  scriptedUrl = `http://127.0.0.1:${(scripted.address() as { port: number }).port}`;
  gw = await startGateway({ logLevel: 'warn' });
  assert.equal((await gw.admin('POST', '/services', { name: 'echo', url: echo.url })).status, 201);
  assert.equal((await gw.admin('POST', '/services', { name: 'scripted', url: scriptedUrl })).status, 201);
});

after(async () => {
  await gw.close();
  await echo.close();
  await new Promise<void>((resolve) => scripted.close(() => resolve()));
});

/** A fresh route with proxy-cache on it; returns the route's proxy URL and the plugin's id. */
async function route(config: Record<string, unknown>, service = 'echo'): Promise<{ url: string; pluginId: string; name: string }> {
  const name = `pc${++n}`;
  let r = await gw.admin('POST', `/services/${service}/routes`, { name, paths: [`/${name}`] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', `/routes/${name}/plugins`, { name: 'proxy-cache', config: { strategy: 'memory', ...config } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await gw.settle();
  return { url: `${gw.proxyUrl}/${name}`, pluginId: r.body.id as string, name };
}

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

describe('proxy-cache: Miss, Hit and the upstream', () => {
  test('the first GET is a Miss, the second is a Hit answered without contacting the upstream', async () => {
    const { url } = await route({});
    const before = echo.requestCount();
    const first = await get(`${url}/anything?x=1`);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cache-status'), 'Miss');
    const key = first.headers.get('x-cache-key');
    assert.match(key ?? '', /^[0-9a-f]{64}$/);
    assert.equal(first.headers.get('age'), null);

    const second = await get(`${url}/anything?x=1`);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-cache-status'), 'Hit');
    assert.equal(second.headers.get('x-cache-key'), key);
    assert.equal(second.headers.get('age'), '0');
    assert.equal(second.headers.get('content-type'), 'application/json');
    assert.equal(second.body, first.body);
    assert.equal(echo.requestCount() - before, 1, 'the upstream saw only the first request');
  });

  test('the default configuration matches Kong’s', async () => {
    const r = await gw.admin('POST', '/plugins', { name: 'proxy-cache', config: { strategy: 'memory' }, enabled: false });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.config, {
      response_code: [200, 301, 404],
      request_method: ['GET', 'HEAD'],
      content_type: ['text/plain', 'application/json'],
      cache_ttl: 300,
      strategy: 'memory',
      cache_control: false,
      ignore_uri_case: false,
      storage_ttl: null,
      memory: { dictionary_name: 'kong_db_cache' },
      vary_query_params: null,
      vary_headers: null,
      response_headers: { age: true, 'X-Cache-Status': true, 'X-Cache-Key': true },
    });
    assert.equal((await gw.admin('DELETE', `/plugins/${r.body.id}`)).status, 204);
  });

  test('a POST is a Bypass and always reaches the upstream', async () => {
    const { url } = await route({});
    const before = echo.requestCount();
    for (let i = 0; i < 2; i++) {
      const r = await get(`${url}/anything`, { method: 'POST', body: 'x' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-cache-status'), 'Bypass');
      assert.equal(r.headers.get('x-cache-key'), null);
    }
    assert.equal(echo.requestCount() - before, 2);
  });

  test('a response whose Content-Type is not listed is a Bypass and is not stored', async () => {
    const { url } = await route({}, 'scripted');
    const path = `${url}/html?type=${encodeURIComponent('text/html')}`;
    for (let i = 0; i < 2; i++) {
      const r = await get(path);
      assert.equal(r.headers.get('x-cache-status'), 'Bypass');
      assert.equal(r.headers.get('x-upstream-count'), String(i + 1));
    }
  });

  test('Content-Type matching is exact, with * wildcards, as Kong 3.x', async () => {
    const { url } = await route({ content_type: ['application/*'] }, 'scripted');
    const charset = `${url}/charset?type=${encodeURIComponent('application/json; charset=utf-8')}`;
    assert.equal((await get(charset)).headers.get('x-cache-status'), 'Bypass', 'parameters must match too');
    const plain = `${url}/plain?type=${encodeURIComponent('application/xml')}`;
    assert.equal((await get(plain)).headers.get('x-cache-status'), 'Miss');
    assert.equal((await get(plain)).headers.get('x-cache-status'), 'Hit');
  });

  test('a status that is not listed is a Bypass', async () => {
    const { url } = await route({}, 'scripted');
    for (let i = 0; i < 2; i++) {
      const r = await get(`${url}/error?status=500`);
      assert.equal(r.status, 500);
      assert.equal(r.headers.get('x-cache-status'), 'Bypass');
      assert.equal(r.headers.get('x-upstream-count'), String(i + 1));
    }
    const notFound = `${url}/missing?status=404`;
    assert.equal((await get(notFound)).headers.get('x-cache-status'), 'Miss');
    const hit = await get(notFound);
    assert.equal(hit.status, 404);
    assert.equal(hit.headers.get('x-cache-status'), 'Hit');
  });

  test('once cache_ttl has passed the entry is gone and fetched again (Miss)', async () => {
    const { url } = await route({ cache_ttl: 1 });
    const before = echo.requestCount();
    assert.equal((await get(`${url}/ttl`)).headers.get('x-cache-status'), 'Miss');
    assert.equal((await get(`${url}/ttl`)).headers.get('x-cache-status'), 'Hit');
    // 1.1 s later by the gateway's clock (src/shared/clock.ts), without waiting for it.
    await withClockAhead(1100, async () => {
      assert.equal((await get(`${url}/ttl`)).headers.get('x-cache-status'), 'Miss');
      assert.equal((await get(`${url}/ttl`)).headers.get('x-cache-status'), 'Hit');
    });
    assert.equal(echo.requestCount() - before, 2);
  });

  test('with a longer storage_ttl, an entry past cache_ttl is a Refresh', async () => {
    const { url } = await route({ cache_ttl: 1, storage_ttl: 60 });
    const before = echo.requestCount();
    assert.equal((await get(`${url}/refresh`)).headers.get('x-cache-status'), 'Miss');
    await withClockAhead(1100, async () => {
      assert.equal((await get(`${url}/refresh`)).headers.get('x-cache-status'), 'Refresh');
      const hit = await get(`${url}/refresh`);
      assert.equal(hit.headers.get('x-cache-status'), 'Hit');
      assert.equal(hit.headers.get('age'), '0', 'the refreshed response replaced the entry');
    });
    assert.equal(echo.requestCount() - before, 2);
  });

  test('a streamed upstream body reaches the client as it comes while it is being cached', async () => {
    const { url } = await route({}, 'scripted');
    const timeline = await new Promise<{ first: number; end: number; body: string; status: string | undefined }>((resolve, reject) => {
      const start = Date.now();
      let first = -1;
      let body = '';
      httpRequest(`${url}/slow`, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (first < 0) first = Date.now() - start;
          body += c;
        });
        res.on('end', () => resolve({ first, end: Date.now() - start, body, status: res.headers['x-cache-status'] as string | undefined }));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(timeline.status, 'Miss');
    assert.equal(timeline.body, 'first;second');
    assert.ok(timeline.end - timeline.first >= 300, `first chunk at ${timeline.first} ms, end at ${timeline.end} ms`);
    const hit = await get(`${url}/slow`);
    assert.equal(hit.headers.get('x-cache-status'), 'Hit');
    assert.equal(hit.body, 'first;second');
  });
});

describe('proxy-cache: the cache key', () => {
  test('query arguments are all part of the key by default, in any order', async () => {
    const { url } = await route({});
    const a = await get(`${url}/q?a=1&b=2`);
    const b = await get(`${url}/q?b=2&a=1`);
    assert.equal(a.headers.get('x-cache-key'), b.headers.get('x-cache-key'));
    assert.equal(b.headers.get('x-cache-status'), 'Hit');
    const c = await get(`${url}/q?a=1&b=3`);
    assert.equal(c.headers.get('x-cache-status'), 'Miss');
  });

  test('vary_query_params limits the key to the listed arguments', async () => {
    const { url } = await route({ vary_query_params: ['lang'] });
    assert.equal((await get(`${url}/v?lang=en&utm=1`)).headers.get('x-cache-status'), 'Miss');
    assert.equal((await get(`${url}/v?lang=en&utm=2`)).headers.get('x-cache-status'), 'Hit');
    assert.equal((await get(`${url}/v?lang=fr&utm=1`)).headers.get('x-cache-status'), 'Miss');
  });

  test('vary_headers keeps one entry per value of the listed request headers', async () => {
    const { url } = await route({ vary_headers: ['X-Tenant'] });
    const before = echo.requestCount();
    const a1 = await get(`${url}/h`, { headers: { 'x-tenant': 'a' } });
    const b1 = await get(`${url}/h`, { headers: { 'x-tenant': 'b' } });
    const a2 = await get(`${url}/h`, { headers: { 'x-tenant': 'a', 'x-other': 'ignored' } });
    assert.equal(a1.headers.get('x-cache-status'), 'Miss');
    assert.equal(b1.headers.get('x-cache-status'), 'Miss');
    assert.notEqual(a1.headers.get('x-cache-key'), b1.headers.get('x-cache-key'));
    assert.equal(a2.headers.get('x-cache-status'), 'Hit');
    assert.equal((JSON.parse(a2.body) as { headers: Record<string, string> }).headers['x-tenant'], 'a');
    assert.equal(echo.requestCount() - before, 2);
  });

  test('without vary_headers, request headers do not split the cache', async () => {
    const { url } = await route({});
    assert.equal((await get(`${url}/nh`, { headers: { 'x-tenant': 'a' } })).headers.get('x-cache-status'), 'Miss');
    assert.equal((await get(`${url}/nh`, { headers: { 'x-tenant': 'b' } })).headers.get('x-cache-status'), 'Hit');
  });

  test('ignore_uri_case shares entries between paths that differ only in case', async () => {
    const { url } = await route({ ignore_uri_case: true });
    assert.equal((await get(`${url}/Case`)).headers.get('x-cache-status'), 'Miss');
    assert.equal((await get(`${url}/cASE`)).headers.get('x-cache-status'), 'Hit');
    const strict = await route({});
    assert.equal((await get(`${strict.url}/Case`)).headers.get('x-cache-status'), 'Miss');
    assert.equal((await get(`${strict.url}/case`)).headers.get('x-cache-status'), 'Miss');
  });

  test('the same path on two routes is cached separately', async () => {
    const one = await route({});
    const two = await route({});
    const a = await get(`${one.url}/same`);
    const b = await get(`${two.url}/same`);
    assert.equal(b.headers.get('x-cache-status'), 'Miss');
    assert.notEqual(a.headers.get('x-cache-key'), b.headers.get('x-cache-key'));
  });
});

describe('proxy-cache: Cache-Control (cache_control=true)', () => {
  test('a response with no-store, private or no freshness lifetime is not stored', async () => {
    const { url } = await route({ cache_control: true }, 'scripted');
    for (const cc of ['no-store', 'private, max-age=60', 'public', 'max-age=0']) {
      const path = `${url}/cc${cc.replace(/\W/g, '')}?cc=${encodeURIComponent(cc)}`;
      assert.equal((await get(path)).headers.get('x-cache-status'), 'Bypass', cc);
      assert.equal((await get(path)).headers.get('x-cache-status'), 'Bypass', cc);
    }
  });

  test('max-age, s-maxage and Expires make a response cacheable', async () => {
    const { url } = await route({ cache_control: true }, 'scripted');
    const later = new Date(Date.now() + 60_000).toUTCString();
    for (const [name, qs] of [
      ['maxage', 'cc=max-age%3D60'],
      ['smaxage', 'cc=s-maxage%3D60'],
      ['expires', `expires=${encodeURIComponent(later)}`],
    ] as const) {
      assert.equal((await get(`${url}/${name}?${qs}`)).headers.get('x-cache-status'), 'Miss', name);
      assert.equal((await get(`${url}/${name}?${qs}`)).headers.get('x-cache-status'), 'Hit', name);
    }
  });

  test('a request with no-store or no-cache bypasses the cache; max-age=0 refreshes the entry', async () => {
    const { url } = await route({ cache_control: true }, 'scripted');
    const path = `${url}/req?cc=max-age%3D60`;
    assert.equal((await get(path)).headers.get('x-cache-status'), 'Miss');
    assert.equal((await get(path, { headers: { 'cache-control': 'no-store' } })).headers.get('x-cache-status'), 'Bypass');
    assert.equal((await get(path, { headers: { 'cache-control': 'no-cache' } })).headers.get('x-cache-status'), 'Bypass');
    // The entry is older than max-age=0 once any time passed: 20 ms by the gateway's clock.
    await withClockAhead(20, async () => {
      const refreshed = await get(path, { headers: { 'cache-control': 'max-age=0' } });
      assert.equal(refreshed.headers.get('x-cache-status'), 'Refresh');
      const hit = await get(path);
      assert.equal(hit.headers.get('x-cache-status'), 'Hit');
      assert.equal(hit.headers.get('x-upstream-count'), refreshed.headers.get('x-upstream-count'), 'the refreshed response replaced the entry');
    });
  });

  test('only-if-cached with nothing stored answers 504', async () => {
    const { url } = await route({ cache_control: true }, 'scripted');
    const r = await get(`${url}/oic?cc=max-age%3D60`, { headers: { 'cache-control': 'only-if-cached' } });
    assert.equal(r.status, 504);
    assert.equal(scriptedHits.get(`/oic`), undefined);
  });

  test('with cache_control=false, upstream Cache-Control is ignored', async () => {
    const { url } = await route({}, 'scripted');
    const path = `${url}/ignored?cc=no-store`;
    assert.equal((await get(path)).headers.get('x-cache-status'), 'Miss');
    assert.equal((await get(path)).headers.get('x-cache-status'), 'Hit');
  });
});

describe('proxy-cache: diagnostic headers', () => {
  test('response_headers turns the headers off; Kong-Debug brings them back', async () => {
    const { url } = await route({ response_headers: { age: false, 'X-Cache-Status': false, 'X-Cache-Key': false } });
    const miss = await get(`${url}/quiet`);
    assert.equal(miss.headers.get('x-cache-status'), null);
    assert.equal(miss.headers.get('x-cache-key'), null);
    const hit = await get(`${url}/quiet`);
    assert.equal(hit.headers.get('x-cache-status'), null);
    assert.equal(hit.headers.get('age'), null);
    const debug = await get(`${url}/quiet`, { headers: { 'kong-debug': '1' } });
    assert.equal(debug.headers.get('x-cache-status'), 'Hit');
    assert.equal(debug.headers.get('age'), '0');
  });
});

describe('proxy-cache: Admin API', () => {
  test('an entry can be read and purged by plugin id and key; the next request is a Miss', async () => {
    const { url, pluginId } = await route({});
    const miss = await get(`${url}/admin`);
    const key = miss.headers.get('x-cache-key')!;

    let r = await gw.admin('GET', `/proxy-cache/${pluginId}/caches/${key}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 200);
    assert.equal(r.body.body, miss.body);
    assert.equal(r.body.body_len, Buffer.byteLength(miss.body));
    assert.equal(r.body.ttl, 300);
    assert.equal(r.body.version, 1);
    assert.equal(r.body.headers['content-type'], 'application/json');
    assert.equal(typeof r.body.timestamp, 'number');

    r = await gw.admin('GET', `/proxy-cache/${key}`);
    assert.equal(r.status, 200);

    r = await gw.admin('DELETE', `/proxy-cache/${pluginId}/caches/${key}`);
    assert.equal(r.status, 204);
    r = await gw.admin('GET', `/proxy-cache/${pluginId}/caches/${key}`);
    assert.equal(r.status, 404);
    r = await gw.admin('DELETE', `/proxy-cache/${pluginId}/caches/${key}`);
    assert.equal(r.status, 404);
    assert.equal((await get(`${url}/admin`)).headers.get('x-cache-status'), 'Miss');
  });

  test('DELETE /proxy-cache/:key and DELETE /proxy-cache purge entries; unknown ids and keys are 404', async () => {
    const { url } = await route({});
    const key = (await get(`${url}/bykey`)).headers.get('x-cache-key')!;
    assert.equal((await gw.admin('DELETE', `/proxy-cache/${key}`)).status, 204);
    assert.equal((await gw.admin('DELETE', `/proxy-cache/${key}`)).status, 404);
    assert.equal((await gw.admin('GET', `/proxy-cache/${key}`)).status, 404);
    assert.equal((await get(`${url}/bykey`)).headers.get('x-cache-status'), 'Miss');
    assert.equal((await get(`${url}/bykey`)).headers.get('x-cache-status'), 'Hit');

    assert.equal((await gw.admin('DELETE', '/proxy-cache')).status, 204);
    assert.equal((await get(`${url}/bykey`)).headers.get('x-cache-status'), 'Miss');

    assert.equal((await gw.admin('GET', `/proxy-cache/00000000-0000-4000-8000-000000000000/caches/${key}`)).status, 404);
    assert.equal((await gw.admin('GET', `/proxy-cache/not-a-uuid/caches/${key}`)).status, 404);
  });
});

describe('proxy-cache: configuration errors', () => {
  async function post(config: Record<string, unknown>) {
    return gw.admin('POST', '/plugins', { name: 'proxy-cache', config });
  }

  test('strategy is required and only memory is supported', async () => {
    let r = await post({});
    assert.equal(r.status, 400);
    assert.equal(r.body.name, 'schema violation');
    assert.equal(r.body.fields.config.strategy, 'required field missing');
    r = await post({ strategy: 'redis' });
    assert.equal(r.status, 400);
    assert.equal(r.body.fields.config.strategy, 'expected one of: memory');
  });

  test('cache_ttl, response_code and request_method are checked as Kong does', async () => {
    let r = await post({ strategy: 'memory', cache_ttl: 0 });
    assert.equal(r.status, 400);
    assert.equal(r.body.fields.config.cache_ttl, 'value must be greater than 0');
    r = await post({ strategy: 'memory', response_code: [] });
    assert.equal(r.status, 400);
    assert.equal(r.body.fields.config.response_code, 'length must be at least 1');
    r = await post({ strategy: 'memory', response_code: [99] });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body.fields.config.response_code), /value should be between 100 and 900/);
    r = await post({ strategy: 'memory', request_method: ['DELETE'] });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body.fields.config.request_method), /expected one of: HEAD, GET, POST, PATCH, PUT/);
    r = await post({ strategy: 'memory', unknown: 1 });
    assert.equal(r.status, 400);
    assert.equal(r.body.fields.config.unknown, 'unknown field');
  });
});
