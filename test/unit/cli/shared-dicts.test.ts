/** mem_cache_size and lua_shared_dict (Kong's names) size the node-wide dictionaries of proxy-cache. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSharedDicts, parseSize, resolveSettings } from '../../../src/cli/settings.ts';
import { proxyCache } from '../../../src/plugins/proxy-cache/index.ts';
import { createLogger } from '../../../src/shared/log.ts';

test('sizes use nginx syntax; dictionaries are "name size" pairs', () => {
  assert.equal(parseSize('128m', 'x'), 128 * 1024 * 1024);
  assert.equal(parseSize('512k', 'x'), 512 * 1024);
  assert.equal(parseSize('1g', 'x'), 1024 ** 3);
  assert.equal(parseSize('4096', 'x'), 4096);
  assert.throws(() => parseSize('lots', 'mem_cache_size'), /mem_cache_size/);
  assert.deepEqual(parseSharedDicts('api_cache 64m, other 1m'), { api_cache: 64 * 1024 ** 2, other: 1024 ** 2 });
  assert.throws(() => parseSharedDicts('api_cache'), /name size/);
  const s = resolveSettings({}, { KONG_MEM_CACHE_SIZE: '64m', KONG_NGINX_HTTP_LUA_SHARED_DICT: 'api_cache 10m' });
  assert.equal(s.memCacheSize, 64 * 1024 ** 2);
  assert.deepEqual(s.sharedDicts, { api_cache: 10 * 1024 ** 2 });
  assert.equal(resolveSettings({}, {}).memCacheSize, 128 * 1024 ** 2, "Kong's default");
});

test('proxy-cache puts entries in the dictionary memory.dictionary_name names, with that dictionary\'s size', () => {
  const log = createLogger('error' as 'info');
  const settings = { sessionSecret: 's', sessionSecretGenerated: false, redisUrl: null, trustedIps: [], memCacheSize: 1000, sharedDicts: { api_cache: 5000 } };
  const base = { response_code: [200], request_method: ['GET'], content_type: ['text/plain'], cache_ttl: 300, strategy: 'memory', cache_control: false, storage_ttl: null, vary_query_params: null, vary_headers: null, response_headers: {} };
  const env = { log, settings, pluginId: 'p' };
  const dflt = proxyCache.compile({ ...base, memory: { dictionary_name: 'kong_db_cache' } } as never, env);
  assert.deepEqual({ ...dflt.dictionary }, { name: 'kong_db_cache', maxBytes: 1000 });
  const declared = proxyCache.compile({ ...base, memory: { dictionary_name: 'api_cache' } } as never, env);
  assert.deepEqual({ ...declared.dictionary }, { name: 'api_cache', maxBytes: 5000 });
  const undeclared = proxyCache.compile({ ...base, memory: { dictionary_name: 'nope' } } as never, env);
  assert.deepEqual({ ...undeclared.dictionary }, { name: 'nope', maxBytes: 1000 });
});
