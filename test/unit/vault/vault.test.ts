/** Vault references (Kong's syntax), the env vault's variable names, resolution by schema. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference } from '../../../src/vault/reference.ts';
import { envVariableName } from '../../../src/vault/env.ts';
import { createResolver, resolveBySchema, VaultError } from '../../../src/vault/resolve.ts';
import { REFERENCEABLE_ENTITY_FIELDS } from '../../../src/vault/snapshot.ts';
import { ENTITIES } from '../../../src/schema/entities/index.ts';
import { kongOf } from '../../../src/schema/typedefs.ts';
import { getPlugin, loadAllPlugins } from '../../../src/plugins/index.ts';

describe('references', () => {
  it('parses name, resource, key and version as Kong', () => {
    assert.deepEqual(parseReference('{vault://env/my-secret}'), { ok: true, ref: { name: 'env', resource: 'my-secret', key: null, version: null, config: {} } });
    assert.deepEqual(parseReference('{vault://env/json-secret/key}'), { ok: true, ref: { name: 'env', resource: 'json-secret', key: 'key', version: null, config: {} } });
    assert.deepEqual(parseReference('{vault://my-env/a/b/}'), { ok: true, ref: { name: 'my-env', resource: 'a/b', key: null, version: null, config: {} } });
    const v = parseReference('{vault://env/s#2}');
    assert.ok(v.ok && v.ref.version === 2);
    assert.deepEqual(parseReference('{vault://env/}'), { ok: false, error: 'reference url has empty path [{vault://env/}]' });
  });
  it('env names: upper case, dashes to underscores, config prefix, _PREVIOUS for version 2', () => {
    assert.equal(envVariableName('my-secret', {}, null), 'MY_SECRET');
    assert.equal(envVariableName('db-pass', { prefix: 'app-' }, null), 'APP_DB_PASS');
    assert.equal(envVariableName('x', {}, 2), 'X_PREVIOUS');
  });
});

describe('resolution', () => {
  const env = { MY_SECRET: 's1', JSON_SECRET: '{"key":"k1","n":3}', APP_OTHER: 'o1' };
  const resolve = createResolver([{ prefix: 'my-env', name: 'env', config: { prefix: 'APP_' } }], env);
  it('env vault, JSON key, a vaults entity by prefix', () => {
    assert.equal(resolve('{vault://env/my-secret}'), 's1');
    assert.equal(resolve('{vault://env/json-secret/key}'), 'k1');
    assert.equal(resolve('{vault://my-env/other}'), 'o1');
  });
  it('clear errors that name the reference and the variable, never a value', () => {
    assert.throws(() => resolve('{vault://env/missing-one}'), (e: unknown) => {
      assert.ok(e instanceof VaultError);
      assert.equal(e.message, 'could not retrieve value for reference {vault://env/missing-one} (could not get value from external vault (no value found (environment variable MISSING_ONE is not set)))');
      return true;
    });
    assert.throws(() => resolve('{vault://env/json-secret/nope}'), /subfield nope not found in JSON secret/);
    assert.throws(() => resolve('{vault://env/json-secret/n}'), /unexpected number value/);
    assert.throws(() => resolve('{vault://aws/x}'), /could not find vault \(aws\)/);
    assert.throws(() => resolve('{vault://env/my-secret/k}'), (e: unknown) => !(e as Error).message.includes('s1'));
  });
  it('only fields marked referenceable are resolved, and the input is left alone', () => {
    loadAllPlugins();
    const schema = getPlugin('openid-connect')!.schema as unknown as Record<string, unknown>;
    const config = { client_secret: ['{vault://env/my-secret}'], issuer: '{vault://env/my-secret}', redis: { password: '{vault://env/json-secret/key}' } };
    const out = resolveBySchema(schema, config, resolve) as typeof config;
    assert.deepEqual(out.client_secret, ['s1']);
    assert.equal(out.issuer, '{vault://env/my-secret}');
    assert.equal(out.redis.password, 'k1');
    assert.deepEqual(config.client_secret, ['{vault://env/my-secret}']);
  });
  it('the runtime’s list of referenceable entity fields matches the schemas', () => {
    for (const [entity, fields] of Object.entries(REFERENCEABLE_ENTITY_FIELDS)) {
      const props = ENTITIES[entity as keyof typeof ENTITIES].schema.properties as Record<string, Record<string, unknown>>;
      for (const f of fields!) {
        const p = props[f]!;
        const inner = ((p.anyOf as Array<Record<string, unknown>> | undefined)?.find((b) => b.type !== 'null') ?? p) as Record<string, unknown>;
        assert.equal(kongOf(inner).referenceable, true, `${entity}.${f}`);
      }
    }
  });
});
