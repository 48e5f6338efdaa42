/**
 * prepareEntity / coerceFormInput / schemaForAdmin: what an Admin API client
 * sees for every entity — Kong 3.x defaults, the `url` shorthand, PATCH/PUT
 * semantics, and Kong's error shapes and messages.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { registerPlugin } from '../../../src/plugins/index.ts';
import {
  coerceFormInput,
  pluginSchemaForAdmin,
  prepareEntity,
  schemaForAdmin,
  validatePluginSchema,
  type PrepareResult,
} from '../../../src/schema/validate.ts';
import type { EntityName } from '../../../src/schema/entities/types.ts';
import { CA_CERT, EC_CERT, EC_KEY, RSA_CERT, RSA_KEY } from './certs.ts';
// Plugin entries are validated against the plugin registry (src/schema/plugin-schemas.ts).
import '../../../src/plugins/index.ts';

registerPlugin({
  name: 'validate-test',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object({
    issuer: Type.String({ format: 'uri' }),
    scopes_required: Type.Optional(Type.Array(Type.String())),
    timeout: Type.Integer({ minimum: 0, maximum: 60000, default: 10000 }),
    verify: Type.Boolean({ default: true }),
    mode: Type.Optional(Type.Union([Type.Literal('strict'), Type.Literal('lenient')])),
    session: Type.Object({
      cookie_name: Type.String({ default: 'session' }),
      secure: Type.Optional(Type.Boolean()),
    }),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  }),
  check(config: { timeout: number; verify: boolean }) {
    return config.timeout === 0 && config.verify ? { timeout: 'must be positive when verify is on' } : {};
  },
  compile: (c: unknown) => c,
});

registerPlugin({
  name: 'validate-no-consumer',
  version: '1.0.0',
  priority: 1,
  scopes: { consumer: false, route: true, service: true },
  protocols: ['http', 'https'],
  schema: Type.Object({}),
  compile: (c: unknown) => c,
});

const UUID = '6a1a5c2e-7b1d-4c0e-9b8f-1d2e3f4a5b6c';

function ok<E extends EntityName>(r: PrepareResult<E>) {
  if (!r.ok) assert.fail(`expected success, got: ${r.message}`);
  return r.row as unknown as Record<string, unknown>;
}

function err<E extends EntityName>(r: PrepareResult<E>) {
  if (r.ok) assert.fail('expected a schema violation');
  return r;
}

const insert = { mode: 'insert' as const, now: 1_700_000_000_000 };

describe('services', () => {
  it("fills Kong's defaults and unset fields as null", () => {
    const row = ok(prepareEntity('services', { host: 'example.com' }, insert));
    assert.match(row.id as string, /^[0-9a-f-]{36}$/);
    assert.equal(row.created_at, 1_700_000_000);
    assert.equal(row.updated_at, 1_700_000_000);
    assert.deepEqual(
      { ...row, id: null },
      {
        id: null,
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
        name: null,
        retries: 5,
        protocol: 'http',
        host: 'example.com',
        port: 80,
        path: null,
        connect_timeout: 60000,
        write_timeout: 60000,
        read_timeout: 60000,
        tags: null,
        client_certificate: null,
        tls_verify: null,
        tls_verify_depth: null,
        ca_certificates: null,
        enabled: true,
      },
    );
  });

  it('decomposes the url shorthand into protocol, host, port and path', () => {
    const https = ok(prepareEntity('services', { url: 'https://api.example.com/v1' }, insert));
    assert.deepEqual([https.protocol, https.host, https.port, https.path], ['https', 'api.example.com', 443, '/v1']);
    const http = ok(prepareEntity('services', { url: 'http://10.0.0.5:8080' }, insert));
    assert.deepEqual([http.protocol, http.host, http.port, http.path], ['http', '10.0.0.5', 8080, null]);
    assert.equal('url' in http, false);
  });

  it('applies the url shorthand on PATCH too, replacing protocol, host, port and path', () => {
    const existing = ok(prepareEntity('services', { name: 's', url: 'http://old.example:81/old' }, insert));
    const row = ok(prepareEntity('services', { url: 'https://new.example' }, { mode: 'update', existing: existing as never, id: existing.id as string, now: 1_700_000_100_000 }));
    assert.deepEqual([row.protocol, row.host, row.port, row.path], ['https', 'new.example', 443, null]);
    assert.equal(row.name, 's');
    assert.equal(row.id, existing.id);
    assert.equal(row.created_at, 1_700_000_000);
    assert.equal(row.updated_at, 1_700_000_100);
  });

  it('keeps a valid given id and refuses an invalid one', () => {
    assert.equal(ok(prepareEntity('services', { id: UUID, host: 'a.example' }, insert)).id, UUID);
    const r = err(prepareEntity('services', { id: 'nope', host: 'a.example' }, insert));
    assert.deepEqual(r.fields, { id: 'expected a valid UUID' });
  });

  it("reports a single violation as Kong's 'schema violation (field: message)'", () => {
    const r = err(prepareEntity('services', { name: 'no-host' }, insert));
    assert.deepEqual(r.fields, { host: 'required field missing' });
    assert.equal(r.message, 'schema violation (host: required field missing)');
  });

  it('reports several violations, sorted by field, with their count', () => {
    const r = err(prepareEntity('services', { host: 'example.com', path: 'nope', port: 70000, protocol: 'ftp', foo: 1 }, insert));
    assert.deepEqual(r.fields, {
      foo: 'unknown field',
      path: 'should start with: /',
      port: 'value should be between 0 and 65535',
      protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss',
    });
    assert.equal(
      r.message,
      '4 schema violations (foo: unknown field; path: should start with: /; port: value should be between 0 and 65535; protocol: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss)',
    );
  });

  it('names the expected type of each field', () => {
    const r = err(prepareEntity('services', { host: 5, retries: 'x', enabled: 'yes', tags: 'a', name: '' }, insert));
    assert.deepEqual(r.fields, {
      host: 'expected a string',
      retries: 'expected an integer',
      enabled: 'expected a boolean',
      tags: 'expected a set',
      name: 'length must be at least 1',
    });
  });

  it("validates host and path with Kong's messages", () => {
    assert.deepEqual(err(prepareEntity('services', { host: 'example.com:80' }, insert)).fields, { host: 'must not have a port' });
    assert.deepEqual(err(prepareEntity('services', { host: 'bad host' }, insert)).fields, { host: 'invalid value: bad host' });
    assert.deepEqual(err(prepareEntity('services', { host: 'a.example', path: '/a//b' }, insert)).fields, { path: 'must not have empty segments' });
  });

  it('refuses a path on a tcp service and a client certificate on plain http', () => {
    const r = err(prepareEntity('services', { host: 'a.example', protocol: 'tcp', path: '/x' }, insert));
    assert.deepEqual(r.fields, {
      path: 'value must be null',
      protocol: "'tcp' is not served by Portcullis yet (served: http, https, ws, wss)",
      '@entity': ["failed conditional validation given value of field 'protocol'"],
    });
    const c = err(prepareEntity('services', { host: 'a.example', client_certificate: { id: UUID } }, insert));
    assert.equal(c.fields.client_certificate, 'value must be null');
  });

  it('treats null as unset on PATCH, and refuses null for a required field', () => {
    const existing = ok(prepareEntity('services', { host: 'a.example', path: '/p', name: 'n' }, insert));
    const row = ok(prepareEntity('services', { path: null }, { mode: 'update', existing: existing as never }));
    assert.equal(row.path, null);
    const r = err(prepareEntity('services', { host: null }, { mode: 'update', existing: existing as never }));
    assert.deepEqual(r.fields, { host: 'required field missing' });
  });

  it('replaces the whole row on PUT, keeping id and created_at', () => {
    const existing = ok(prepareEntity('services', { host: 'a.example', retries: 1, name: 'put' }, insert));
    const row = ok(
      prepareEntity('services', { host: 'b.example' }, { mode: 'upsert', existing: existing as never, id: existing.id as string, now: 1_700_000_500_000 }),
    );
    assert.equal(row.id, existing.id);
    assert.equal(row.created_at, existing.created_at);
    assert.equal(row.updated_at, 1_700_000_500);
    assert.equal(row.retries, 5, 'fields not given return to their defaults');
    assert.equal(row.name, null);
  });
});

describe('routes', () => {
  it("fills Kong's route defaults", () => {
    const row = ok(prepareEntity('routes', { paths: ['/a'], service: { id: UUID } }, insert));
    assert.deepEqual(row.protocols, ['http', 'https']);
    assert.equal(row.https_redirect_status_code, 426);
    assert.equal(row.regex_priority, 0);
    assert.equal(row.strip_path, true);
    assert.equal(row.path_handling, 'v0');
    assert.equal(row.preserve_host, false);
    assert.equal(row.request_buffering, true);
    assert.equal(row.response_buffering, true);
    assert.deepEqual(row.service, { id: UUID });
    assert.equal(row.methods, null);
  });

  it('requires a matching attribute for http(s) routes', () => {
    const r = err(prepareEntity('routes', {}, insert));
    assert.deepEqual(r.fields, { '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"] });
    assert.equal(r.message, "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')");
    const h = err(prepareEntity('routes', { protocols: ['http'] }, insert));
    assert.deepEqual(h.fields, { '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"] });
  });

  it('checks paths, regexes, methods and hosts', () => {
    assert.deepEqual(err(prepareEntity('routes', { paths: ['foo'] }, insert)).fields, { paths: ['should start with: / (fixed path) or ~/ (regex path)'] });
    assert.match((err(prepareEntity('routes', { paths: ['~/(unclosed'] }, insert)).fields.paths as string[])[0]!, /^invalid regex: '\/\(unclosed' \(PCRE returned: /);
    assert.deepEqual(err(prepareEntity('routes', { paths: ['/a/../b'] }, insert)).fields, { paths: ["non-normalized path, consider use '/b' instead"] });
    assert.deepEqual(err(prepareEntity('routes', { methods: ['get'] }, insert)).fields, { methods: ['invalid value: get'] });
    assert.deepEqual(err(prepareEntity('routes', { hosts: ['a.*.example'] }, insert)).fields, { hosts: ['invalid wildcard: must be placed at leftmost or rightmost label'] });
    ok(prepareEntity('routes', { hosts: ['*.example.com', 'api.example.com:8000'], paths: ['~/users/(?<id>\\d+)$'] }, insert));
  });

  it('reports array element errors at the element position, null elsewhere, as Kong (paths.2 in the message)', () => {
    const r = err(prepareEntity('routes', { paths: ['/ok', '/a//b', '/fine', 'nope'] }, insert));
    assert.deepEqual(r.fields, { paths: [null, 'must not have empty segments', null, 'should start with: / (fixed path) or ~/ (regex path)'] });
    assert.equal(r.message, '2 schema violations (paths.2: must not have empty segments; paths.4: should start with: / (fixed path) or ~/ (regex path))');
  });

  it("refuses a 'host' header match and sni on plain http", () => {
    assert.deepEqual(err(prepareEntity('routes', { headers: { Host: ['a'] } }, insert)).fields, {
      headers: "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
    });
    const r = err(prepareEntity('routes', { protocols: ['http'], snis: ['a.example'], paths: ['/'] }, insert));
    assert.deepEqual(r.fields, { snis: 'length must be 0', '@entity': ["'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"] });
  });

  it('drops duplicate set members and refuses protocols from different families', () => {
    assert.deepEqual(ok(prepareEntity('routes', { methods: ['GET', 'GET'], paths: ['/'] }, insert)).methods, ['GET']);
    assert.deepEqual(err(prepareEntity('routes', { protocols: ['http', 'tcp'], paths: ['/'] }, insert)).fields, {
      protocols: "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')",
    });
    assert.deepEqual(err(prepareEntity('routes', { protocols: ['ftp'], paths: ['/'] }, insert)).fields, {
      protocols: ['expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss'],
    });
  });

  it("keeps Kong's grpc checks, and refuses gRPC and stream protocols (not served yet), naming each at its position", () => {
    assert.deepEqual(err(prepareEntity('routes', { protocols: ['grpc'], paths: ['/svc'], strip_path: true }, insert)).fields, {
      strip_path: "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'",
      protocols: ["'grpc' is not served by Portcullis yet (served: http, https, ws, wss)"],
    });
    const r = err(prepareEntity('routes', { protocols: ['grpc', 'grpcs'], paths: ['/svc'] }, insert));
    assert.deepEqual(r.fields, {
      protocols: ["'grpc' is not served by Portcullis yet (served: http, https, ws, wss)", "'grpcs' is not served by Portcullis yet (served: http, https, ws, wss)"],
    });
    for (const p of ['tcp', 'tls', 'udp']) {
      const s = err(prepareEntity('routes', { protocols: [p], sources: [{ ip: '10.0.0.1' }] }, insert));
      assert.deepEqual(s.fields, { protocols: [`'${p}' is not served by Portcullis yet (served: http, https, ws, wss)`] });
    }
    assert.match(err(prepareEntity('routes', { protocols: ['tls_passthrough'], snis: ['a.example'] }, insert)).message, /protocols\.1: 'tls_passthrough' is not served/);
    for (const p of ['grpc', 'grpcs', 'tcp', 'tls', 'udp', 'tls_passthrough']) {
      assert.equal(err(prepareEntity('services', { host: 'a.example', protocol: p }, insert)).fields.protocol, `'${p}' is not served by Portcullis yet (served: http, https, ws, wss)`);
    }
    ok(prepareEntity('routes', { protocols: ['ws', 'wss'], paths: ['/ws'] }, insert));
  });

  it('refuses fields Portcullis does not implement unless at their Kong default, naming them', () => {
    // Algorithms and health checks are implemented (issue 14); SRV records are not.
    const up = err(prepareEntity('upstreams', { name: 'u', algorithm: 'least-connections', use_srv_name: true, healthchecks: { active: { healthy: { interval: 5 } } } }, insert));
    assert.deepEqual(up.fields, { use_srv_name: 'use_srv_name is not supported by Portcullis: targets are resolved through A/AAAA records only (no SRV)' });
    ok(prepareEntity('upstreams', { name: 'u', algorithm: 'least-connections', healthchecks: { active: { healthy: { interval: 5 } } } }, insert));
    assert.equal(err(prepareEntity('services', { host: 'a.example', protocol: 'https', tls_verify_depth: 2 }, insert)).fields.tls_verify_depth, 'not supported by Portcullis yet: limiting the upstream certificate chain depth');
    assert.equal(err(prepareEntity('plugins', { name: 'validate-no-consumer', ordering: { before: { access: ['acl'] } } }, insert)).fields.ordering, 'not supported by Portcullis yet: dynamic plugin ordering');
  });

  it('reports a bad foreign key inside the foreign field', () => {
    assert.deepEqual(err(prepareEntity('routes', { paths: ['/'], service: { id: 'x' } }, insert)).fields, { service: { id: 'expected a valid UUID' } });
    assert.equal(err(prepareEntity('routes', { paths: ['/'], service: { id: 'x' } }, insert)).message, 'schema violation (service.id: expected a valid UUID)');
  });
});

describe('consumers, upstreams, targets', () => {
  it('needs a username or a custom_id', () => {
    const r = err(prepareEntity('consumers', {}, insert));
    assert.equal(r.message, "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')");
    ok(prepareEntity('consumers', { custom_id: 'c' }, insert));
  });

  it("fills upstream defaults, healthchecks included, and checks hash_on's companions", () => {
    const up = ok(prepareEntity('upstreams', { name: 'backend.internal' }, insert));
    assert.equal(up.algorithm, 'round-robin');
    assert.equal(up.slots, 10000);
    assert.equal(up.hash_on, 'none');
    assert.equal(up.hash_on_cookie_path, '/');
    assert.equal(up.use_srv_name, false);
    const hc = up.healthchecks as { active: Record<string, unknown>; passive: { unhealthy: Record<string, unknown> }; threshold: number };
    assert.equal(hc.active.http_path, '/');
    assert.equal(hc.active.https_sni, null);
    assert.deepEqual((hc.active.healthy as Record<string, unknown>).http_statuses, [200, 302]);
    assert.deepEqual(hc.passive.unhealthy.http_statuses, [429, 500, 503]);
    assert.equal(hc.threshold, 0);
    const r = err(prepareEntity('upstreams', { name: 'u', hash_on: 'header' }, insert));
    assert.deepEqual(r.fields, {
      hash_on_header: 'required field missing',
      '@entity': ["failed conditional validation given value of field 'hash_on'"],
    });
    assert.equal(err(prepareEntity('upstreams', { name: '10.0.0.1' }, insert)).fields.name, "Invalid name ('10.0.0.1'); no ip addresses allowed");
  });

  it('gives a target the default port and weight 100, with millisecond timestamps', () => {
    const t = ok(prepareEntity('targets', { target: 'example.com', upstream: { id: UUID } }, { mode: 'insert', now: 1_700_000_000_123 }));
    assert.equal(t.target, 'example.com:8000');
    assert.equal(t.weight, 100);
    assert.equal(t.created_at, 1_700_000_000.123);
    assert.equal(ok(prepareEntity('targets', { target: '[::1]:80', upstream: { id: UUID } }, insert)).target, '[::1]:80');
  });
});

describe('certificates', () => {
  it('accepts a matching pair and hands back the snis pseudo-field sorted', () => {
    const r = prepareEntity('certificates', { cert: RSA_CERT, key: RSA_KEY, snis: ['b.example', 'a.example'] }, insert);
    assert.ok(r.ok);
    assert.deepEqual(r.extras.snis, ['a.example', 'b.example']);
    assert.equal('snis' in r.row, false);
  });

  it('refuses a key that does not match, and an alternative of the same key type', () => {
    assert.deepEqual(err(prepareEntity('certificates', { cert: RSA_CERT, key: EC_KEY }, insert)).fields, { '@entity': ['certificate does not match key'] });
    ok(prepareEntity('certificates', { cert: RSA_CERT, key: RSA_KEY, cert_alt: EC_CERT, key_alt: EC_KEY }, insert));
    assert.match(err(prepareEntity('certificates', { cert: 'nope', key: RSA_KEY }, insert)).fields.cert as string, /^invalid certificate: /);
    assert.deepEqual(err(prepareEntity('certificates', { cert: RSA_CERT, key: RSA_KEY, cert_alt: EC_CERT }, insert)).fields, {
      '@entity': ["all or none of these fields must be set: 'cert_alt', 'key_alt'"],
    });
  });

  it('accepts only CA certificates as ca_certificates and derives their digest', () => {
    const ca = ok(prepareEntity('ca_certificates', { cert: CA_CERT }, insert));
    assert.match(ca.cert_digest as string, /^[0-9a-f]{64}$/);
    assert.deepEqual(err(prepareEntity('ca_certificates', { cert: RSA_CERT }, insert)).fields, {
      '@entity': ['certificate does not appear to be a CA because it is missing the "CA" basic constraint'],
    });
  });

  it('validates sni names', () => {
    assert.deepEqual(err(prepareEntity('snis', { name: '10.0.0.1', certificate: { id: UUID } }, insert)).fields, { name: 'must not be an IP' });
    ok(prepareEntity('snis', { name: '*.example.com', certificate: { id: UUID } }, insert));
  });
});

describe('plugins', () => {
  it("fills the plugin's config defaults, unset config fields as null, and the plugin defaults", () => {
    const row = ok(prepareEntity('plugins', { name: 'validate-test', config: { issuer: 'https://idp.example' } }, insert));
    assert.deepEqual(row.config, {
      issuer: 'https://idp.example',
      scopes_required: null,
      timeout: 10000,
      verify: true,
      mode: null,
      session: { cookie_name: 'session', secure: null },
      headers: null,
    });
    assert.deepEqual(row.protocols, ['grpc', 'grpcs', 'http', 'https']);
    assert.equal(row.enabled, true);
    assert.equal(row.route, null);
    assert.equal(row.service, null);
    assert.equal(row.consumer, null);
    assert.equal(row.instance_name, null);
  });

  it('reports config errors nested under config', () => {
    const r = err(prepareEntity('plugins', { name: 'validate-test', config: { timeout: 'x', extra: 1, mode: 'other' } }, insert));
    assert.deepEqual(r.fields, {
      config: { issuer: 'required field missing', timeout: 'expected an integer', extra: 'unknown field', mode: 'expected one of: strict, lenient' },
    });
    assert.equal(r.message, '4 schema violations (config.extra: unknown field; config.issuer: required field missing; config.mode: expected one of: strict, lenient; config.timeout: expected an integer)');
    assert.deepEqual(err(prepareEntity('plugins', { name: 'validate-test', config: 'x' }, insert)).fields, { config: 'expected a record' });
  });

  it("runs the plugin's own check after the schema", () => {
    const r = err(prepareEntity('plugins', { name: 'validate-test', config: { issuer: 'https://i.example', timeout: 0 } }, insert));
    assert.deepEqual(r.fields, { config: { timeout: 'must be positive when verify is on' } });
  });

  it('refuses a plugin that is not enabled', () => {
    const r = err(prepareEntity('plugins', { name: 'no-such-plugin' }, insert));
    assert.deepEqual(r.fields, { name: "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property" });
  });

  it("refuses a consumer on a plugin that cannot be scoped to consumers, and protocols it doesn't support", () => {
    const r = err(prepareEntity('plugins', { name: 'validate-no-consumer', consumer: { id: UUID }, protocols: ['grpc'] }, insert));
    assert.deepEqual(r.fields, { consumer: 'value must be null', protocols: ['expected one of: http, https'] });
    assert.deepEqual(ok(prepareEntity('plugins', { name: 'validate-no-consumer' }, insert)).protocols, ['http', 'https']);
  });

  it('merges config deeply on PATCH and validates the result', () => {
    const existing = ok(prepareEntity('plugins', { name: 'validate-test', config: { issuer: 'https://i.example', scopes_required: ['a'], session: { cookie_name: 'c' } } }, insert));
    const row = ok(prepareEntity('plugins', { config: { session: { secure: true }, timeout: 5 } }, { mode: 'update', existing: existing as never }));
    const config = row.config as Record<string, unknown>;
    assert.equal(config.issuer, 'https://i.example');
    assert.deepEqual(config.scopes_required, ['a']);
    assert.deepEqual(config.session, { cookie_name: 'c', secure: true });
    assert.equal(config.timeout, 5);
    assert.equal(row.name, 'validate-test');
  });

  it('validates a whole plugin without storing it (POST /schemas/plugins/validate)', () => {
    assert.equal(validatePluginSchema({ name: 'validate-test', config: { issuer: 'https://i.example' } }).ok, true);
    assert.equal(validatePluginSchema({ name: 'validate-test', config: {} }).ok, false);
  });
});

describe('form input', () => {
  it('converts strings to the schema types, single values to arrays, and empty values to null', () => {
    assert.deepEqual(coerceFormInput('services', { name: 'a', retries: '3', port: '', enabled: 'false', tags: 'one', ca_certificates: UUID }), {
      name: 'a',
      retries: 3,
      port: null,
      enabled: false,
      tags: ['one'],
      ca_certificates: [UUID],
    });
    assert.deepEqual(coerceFormInput('routes', { paths: { '2': '/b', '1': '/a' }, service: { id: UUID }, strip_path: 'true', regex_priority: '7' }), {
      paths: ['/a', '/b'],
      service: { id: UUID },
      strip_path: true,
      regex_priority: 7,
    });
  });

  it("reads a plugin's config by that plugin's schema: config.scopes_required=a is an array of one", () => {
    const input = coerceFormInput('plugins', { name: 'validate-test', config: { issuer: 'https://i.example', scopes_required: 'a', timeout: '15', verify: 'false' } });
    assert.deepEqual(input, { name: 'validate-test', config: { issuer: 'https://i.example', scopes_required: ['a'], timeout: 15, verify: false } });
    ok(prepareEntity('plugins', input, insert));
  });

  it('leaves what cannot be converted for the validator to name', () => {
    const input = coerceFormInput('services', { host: 'a.example', retries: 'many' });
    assert.deepEqual(err(prepareEntity('services', input, insert)).fields, { retries: 'expected an integer' });
  });
});

describe('schemas served by the Admin API', () => {
  it("serves the service schema in Kong's format", () => {
    const fields = schemaForAdmin('services').fields;
    const byName = Object.fromEntries(fields.map((f) => Object.entries(f)[0]!));
    assert.deepEqual(Object.keys(fields[0]!), ['id']);
    assert.equal((byName.id as Record<string, unknown>).uuid, true);
    assert.equal((byName.id as Record<string, unknown>).auto, true);
    assert.equal((byName.protocol as Record<string, unknown>).required, true);
    assert.equal((byName.protocol as Record<string, unknown>).default, 'http');
    assert.deepEqual((byName.retries as Record<string, unknown>).between, [0, 32767]);
    assert.equal((byName.retries as Record<string, unknown>).default, 5);
    assert.equal((byName.client_certificate as Record<string, unknown>).type, 'foreign');
    assert.equal((byName.client_certificate as Record<string, unknown>).reference, 'certificates');
    assert.equal((byName.tags as Record<string, unknown>).type, 'set');
  });

  it('serves a plugin schema with its config record', () => {
    const s = pluginSchemaForAdmin('validate-test');
    assert.ok(s);
    const config = s.fields.find((f) => 'config' in f)!.config as { type: string; required: boolean; fields: Record<string, Record<string, unknown>>[] };
    assert.equal(config.type, 'record');
    assert.equal(config.required, true);
    const timeout = config.fields.find((f) => 'timeout' in f)!.timeout!;
    assert.deepEqual(timeout, { type: 'integer', required: true, default: 10000, between: [0, 60000] });
    const mode = config.fields.find((f) => 'mode' in f)!.mode!;
    assert.deepEqual(mode.one_of, ['strict', 'lenient']);
    const nc = pluginSchemaForAdmin('validate-no-consumer')!;
    assert.deepEqual(nc.fields[0], { consumer: { type: 'foreign', reference: 'consumers', eq: null } });
    assert.equal(pluginSchemaForAdmin('no-such-plugin'), null);
  });
});
