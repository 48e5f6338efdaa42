/**
 * rate-limiting through the whole gateway: real HTTP, real Redis
 * (127.0.0.1:6379), Kong's headers and error body.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { waitFor } from '../../helpers/wait.ts';

let gw: TestGateway;
let echo: Echo;
let n = 0;

before(async () => {
  echo = await startEcho();
  gw = await startGateway({ logLevel: 'warn' });
  const r = await gw.admin('POST', '/services', { name: 'svc', url: echo.url });
  assert.equal(r.status, 201);
});

after(async () => {
  await gw.close();
  await echo.close();
});

/** A fresh route with the plugin on it; returns the proxy URL of the route. */
async function route(config: Record<string, unknown>): Promise<string> {
  const name = `rl${++n}`;
  let r = await gw.admin('POST', '/services/svc/routes', { name, paths: [`/${name}`] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await gw.admin('POST', `/routes/${name}/plugins`, { name: 'rate-limiting', config });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await gw.settle();
  return `${gw.proxyUrl}/${name}`;
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('rate-limiting (local policy)', () => {
  test('counts requests per minute and answers 429 with Kong’s body and headers once the limit is used up', async () => {
    const url = await route({ minute: 2, policy: 'local' });
    const first = await fetch(url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-ratelimit-limit-minute'), '2');
    assert.equal(first.headers.get('x-ratelimit-remaining-minute'), '1');
    assert.equal(first.headers.get('ratelimit-limit'), '2');
    assert.equal(first.headers.get('ratelimit-remaining'), '1');
    const reset = Number(first.headers.get('ratelimit-reset'));
    assert.ok(reset >= 1 && reset <= 60, `reset ${reset}`);
    await first.text();

    const second = await fetch(url);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-ratelimit-remaining-minute'), '0');
    await second.text();

    const third = await fetch(url);
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('x-ratelimit-remaining-minute'), '0');
    assert.equal(third.headers.get('ratelimit-remaining'), '0');
    const retry = Number(third.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 60);
    assert.match(third.headers.get('content-type') ?? '', /application\/json/);
    const body = (await third.json()) as { message: string; request_id: string };
    assert.equal(body.message, 'API rate limit exceeded');
    assert.equal(typeof body.request_id, 'string');
  });

  test('the upstream is not reached once the limit is exceeded', async () => {
    const url = await route({ minute: 1 });
    const before = echo.requestCount();
    assert.equal((await fetch(url)).status, 200);
    assert.equal((await fetch(url)).status, 429);
    assert.equal(echo.requestCount(), before + 1);
  });

  test('several periods: every period gets its headers, RateLimit-* follow the tightest one', async () => {
    const url = await route({ minute: 3, hour: 100 });
    const res = await fetch(url);
    await res.text();
    assert.equal(res.headers.get('x-ratelimit-limit-minute'), '3');
    assert.equal(res.headers.get('x-ratelimit-remaining-minute'), '2');
    assert.equal(res.headers.get('x-ratelimit-limit-hour'), '100');
    assert.equal(res.headers.get('x-ratelimit-remaining-hour'), '99');
    assert.equal(res.headers.get('ratelimit-limit'), '3');
    assert.equal(res.headers.get('ratelimit-remaining'), '2');
  });

  test('custom error_code and error_message are answered when the limit is exceeded', async () => {
    const url = await route({ minute: 1, error_code: 503, error_message: 'slow down' });
    await (await fetch(url)).text();
    const res = await fetch(url);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { message: string }).message, 'slow down');
  });

  test('hide_client_headers sends no rate-limit headers, even on 429', async () => {
    const url = await route({ minute: 1, hide_client_headers: true });
    const ok = await fetch(url);
    await ok.text();
    assert.equal(ok.headers.get('x-ratelimit-limit-minute'), null);
    assert.equal(ok.headers.get('ratelimit-limit'), null);
    const denied = await fetch(url);
    assert.equal(denied.status, 429);
    assert.equal(denied.headers.get('retry-after'), null);
    assert.equal(denied.headers.get('ratelimit-remaining'), null);
    await denied.text();
  });

  test('limit_by header counts each header value separately', async () => {
    const url = await route({ minute: 1, limit_by: 'header', header_name: 'X-Tenant' });
    assert.equal((await fetch(url, { headers: { 'x-tenant': 'a' } })).status, 200);
    assert.equal((await fetch(url, { headers: { 'x-tenant': 'a' } })).status, 429);
    assert.equal((await fetch(url, { headers: { 'x-tenant': 'b' } })).status, 200);
  });
});

describe('rate-limiting configuration', () => {
  test('defaults are filled in as Kong’s and the legacy redis_* fields are accepted', async () => {
    let r = await gw.admin('POST', '/plugins', { name: 'rate-limiting', config: { minute: 5 } });
    assert.equal(r.status, 201);
    const config = r.body.config;
    assert.equal(config.policy, 'local');
    assert.equal(config.limit_by, 'consumer');
    assert.equal(config.fault_tolerant, true);
    assert.equal(config.hide_client_headers, false);
    assert.equal(config.error_code, 429);
    assert.equal(config.error_message, 'API rate limit exceeded');
    assert.equal(config.sync_rate, -1);
    assert.equal(config.redis.port, 6379);
    assert.equal(config.redis.timeout, 2000);
    assert.equal(config.redis.database, 0);
    assert.equal(config.second, null);
    await gw.admin('DELETE', `/plugins/${r.body.id}`);

    r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'rate-limiting', config: { minute: 5, policy: 'redis', redis_host: '127.0.0.1', redis_port: 6379 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });

  test('a configuration without any limit is rejected with Kong’s message', async () => {
    const r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'rate-limiting', config: {} });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.fields['@entity'], [
      "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'",
    ]);
  });

  test('a longer period with a lower limit is rejected', async () => {
    const r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'rate-limiting', config: { minute: 10, hour: 5 } });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.fields['@entity'], ['The limit for hour(5.0) cannot be lower than the limit for minute(10.0)']);
  });

  test('the redis policy requires a host; unknown fields are rejected', async () => {
    let r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'rate-limiting', config: { minute: 1, policy: 'redis' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.fields.config.redis.host, 'required field missing');
    r = await gw.admin('POST', '/schemas/plugins/validate', { name: 'rate-limiting', config: { minute: 1, bogus: true } });
    assert.equal(r.status, 400);
    assert.ok(r.body.fields.config.bogus);
  });
});

describe('rate-limiting (redis policy)', () => {
  test('counters live in Redis: the limit holds across requests and routes sharing the plugin scope', async () => {
    const tenant = randomUUID();
    const url = await route({ minute: 2, policy: 'redis', redis: { host: '127.0.0.1', port: 6379 }, limit_by: 'header', header_name: 'x-tenant' });
    const h = { 'x-tenant': tenant };
    const a = await fetch(url, { headers: h });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-ratelimit-remaining-minute'), '1');
    await a.text();
    const b = await fetch(url, { headers: h });
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('x-ratelimit-remaining-minute'), '0');
    await b.text();
    const c = await fetch(url, { headers: h });
    assert.equal(c.status, 429);
    assert.equal(((await c.json()) as { message: string }).message, 'API rate limit exceeded');
    assert.ok(Number(c.headers.get('retry-after')) >= 1);
  });

  test('legacy redis_host / redis_port configure the same Redis', async () => {
    const tenant = randomUUID();
    const url = await route({ minute: 1, policy: 'redis', redis_host: '127.0.0.1', redis_port: 6379, limit_by: 'header', header_name: 'x-tenant' });
    assert.equal((await fetch(url, { headers: { 'x-tenant': tenant } })).status, 200);
    assert.equal((await fetch(url, { headers: { 'x-tenant': tenant } })).status, 429);
  });

  test('sync_rate keeps counting locally and pushes the counts to Redis', async () => {
    const tenant = randomUUID();
    const url = await route({ minute: 2, policy: 'redis', sync_rate: 0.05, redis: { host: '127.0.0.1', port: 6379 }, limit_by: 'header', header_name: 'x-tenant' });
    const h = { 'x-tenant': tenant };
    assert.equal((await fetch(url, { headers: h })).status, 200);
    assert.equal((await fetch(url, { headers: h })).status, 200);
    assert.equal((await fetch(url, { headers: h })).status, 429);
    // The next sync pushes both counted requests to Redis, under Kong's key shape.
    const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    try {
      let total = 0;
      const synced = async (): Promise<boolean> => {
        const keys = await redis.keys(`ratelimit:*:${tenant}:*:minute`);
        total = keys.length === 1 ? Number(await redis.get(keys[0]!)) : 0;
        return total >= 2;
      };
      await waitFor('the sync to reach Redis', synced, 1000, 10).catch(() => undefined);
      assert.equal(total, 2);
    } finally {
      redis.disconnect();
    }
  });

  test('fault_tolerant (default): with Redis unreachable requests are proxied without rate-limit headers, and the outage is logged once', async () => {
    const port = await closedPort();
    const url = await route({ minute: 1, policy: 'redis', redis: { host: '127.0.0.1', port, timeout: 500 } });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ratelimit-limit-minute'), null);
      await res.text();
    }
    assert.equal(gw.logs.find('Redis unreachable').length, 1);
  });

  test('fault_tolerant false: with Redis unreachable the client gets a 500', async () => {
    const port = await closedPort();
    const url = await route({ minute: 1, policy: 'redis', fault_tolerant: false, redis: { host: '127.0.0.1', port, timeout: 500 } });
    const res = await fetch(url);
    assert.equal(res.status, 500);
    await res.text();
  });
});
