/**
 * decK as a test client (issue 15): Debian's decK 1.4.0, a real Kong client
 * nobody here wrote, against the Admin API of a SQLite gateway, a PostgreSQL
 * gateway and a DB-less gateway.
 *
 * decK 1.4 knows Kong 2.x: it fills in only a few defaults itself
 * (services' timeouts, routes' protocols, upstreams' healthchecks) and none
 * for plugin configs, so a hand-written file diffs against any Kong 3.x
 * (fields such as `retries` or every plugin default are "updates"). The
 * round trip therefore goes: sync the hand-written file → dump → the dump
 * holds every field of the file with the same value (normalised: ids,
 * timestamps and order left out, the basic-auth password compared with
 * Kong's hash) → `diff` of the dump: no changes → `reset` → empty. DB-less:
 * the dump posted to `POST /config`, then diff and dump again.
 *
 * Skipped (with that reason) only when the `deck` binary is absent; .ci/run installs it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { RSA_CERT, RSA_KEY, CA_CERT } from '../unit/schema/certs.ts';

const DECK = 'deck';
const hasDeck = spawnSync(DECK, ['version'], { encoding: 'utf8' }).status === 0;
const skip = hasDeck ? false : 'the deck binary is not installed (apt-get install deck; .ci/run does)';

function deck(args: string[], admin: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(DECK, [...args, '--kong-addr', admin, '--no-color'], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr });
    });
  });
}

/** A realistic multi-entity file in decK 1.4's format. */
const FILE = {
  _format_version: '1.1',
  services: [
    {
      name: 'echo',
      host: 'echo.internal',
      port: 8080,
      protocol: 'http',
      path: '/anything',
      tags: ['deck-test'],
      routes: [
        {
          name: 'echo-route',
          paths: ['/echo'],
          methods: ['GET', 'POST'],
          strip_path: true,
          tags: ['deck-test'],
          plugins: [{ name: 'acl', config: { allow: ['gold'], hide_groups_header: true }, tags: ['deck-test'] }],
        },
      ],
      plugins: [{ name: 'key-auth', config: { key_names: ['apikey'], hide_credentials: true } }],
    },
    {
      name: 'app',
      host: 'app.internal',
      port: 443,
      protocol: 'https',
      routes: [{ name: 'app-route', hosts: ['app.example.com'], paths: ['/'] }],
      plugins: [
        {
          name: 'openid-connect',
          config: {
            // not reachable: the configuration is accepted and compiled without network
            issuer: 'https://idp.invalid/realms/demo/.well-known/openid-configuration',
            client_id: ['portcullis'],
            client_secret: ['not-a-real-secret'],
            auth_methods: ['authorization_code', 'session'],
          },
        },
        { name: 'rate-limiting', config: { minute: 100, policy: 'local' } },
      ],
    },
  ],
  consumers: [
    {
      username: 'alice',
      custom_id: 'alice-1',
      tags: ['deck-test'],
      acls: [{ group: 'gold' }, { group: 'silver' }],
      keyauth_credentials: [{ key: 'alice-key' }],
      basicauth_credentials: [{ username: 'alice-ba', password: 'alice-pw' }],
      jwt_secrets: [{ key: 'alice-iss', secret: 'alice-jwt-secret', algorithm: 'HS256' }],
      hmacauth_credentials: [{ username: 'alice-hmac', secret: 'alice-hmac-secret' }],
    },
    { username: 'bob', acls: [{ group: 'bronze' }] },
  ],
  upstreams: [
    {
      name: 'echo.internal',
      targets: [
        { target: '127.0.0.1:8080', weight: 100 },
        { target: '127.0.0.1:8081', weight: 50 },
      ],
    },
  ],
  // decK 1.4 requires ids on certificates (they have no natural key)
  certificates: [{ id: '0b0a9f5e-8d52-4a5d-9a41-2d3f1c8b7e61', cert: RSA_CERT, key: RSA_KEY, snis: [{ name: 'app.example.com' }] }],
  ca_certificates: [{ id: '6f6d2b9e-1c0a-4a8e-b7d4-3e2f9a1c5d70', cert: CA_CERT }],
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const IDENTITY = ['id', 'name', 'username', 'group', 'key', 'target'];

/** Every field of `expected` is in `actual` with an equal value; list elements matched by their natural key. */
function assertContains(expected: unknown, actual: unknown, path: string): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected a list`);
    const objects = expected.every(isObj);
    if (!objects) {
      assert.deepEqual([...actual].sort(), [...expected].sort(), path);
      return;
    }
    assert.equal(actual.length, expected.length, `${path}: number of entries`);
    for (const e of expected as Obj[]) {
      const k = IDENTITY.find((f) => typeof e[f] === 'string');
      assert.ok(k !== undefined, `${path}: entry without a natural key`);
      const a = (actual as Obj[]).find((x) => isObj(x) && x[k] === e[k]);
      assert.ok(a !== undefined, `${path}: no entry with ${k} = ${String(e[k]).slice(0, 40)}`);
      assertContains(e, a, `${path}[${k}=${String(e[k]).slice(0, 20)}]`);
    }
    return;
  }
  if (isObj(expected)) {
    assert.ok(isObj(actual), `${path}: expected a record`);
    for (const [k, v] of Object.entries(expected)) assertContains(v, actual[k], `${path}.${k}`);
    return;
  }
  // PEM texts may differ in their final newline only
  if (typeof expected === 'string' && typeof actual === 'string' && expected.startsWith('-----BEGIN')) {
    assert.equal(actual.trim(), expected.trim(), path);
    return;
  }
  assert.deepEqual(actual, expected, path);
}

/** The file as Kong stores it: basic-auth passwords hashed with the consumer's id. */
async function asStored(gw: TestGateway): Promise<Obj> {
  const file = structuredClone(FILE) as unknown as Obj;
  for (const c of file.consumers as Obj[]) {
    const id = (await gw.admin('GET', `/consumers/${String(c.username)}`)).body.id as string;
    for (const b of (c.basicauth_credentials as Obj[] | undefined) ?? []) b.password = createHash('sha1').update(`${String(b.password)}${id}`).digest('hex');
  }
  return file;
}

function noChanges(out: string): void {
  assert.match(out, /Created: 0\s+Updated: 0\s+Deleted: 0/, out);
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-deck-'));
  await writeFile(join(dir, 'kong.yaml'), stringify(FILE));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The dump of the last database round trip, for the DB-less one. */
let lastDump: string | null = null;

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`decK round trip against the ${database} store`, { skip }, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway({ database, logLevel: 'warn' });
    });
    after(async () => {
      await gw?.close();
    });

    it('ping, sync, dump equal to the file, diff of the dump empty, reset empty', async () => {
      const ping = await deck(['ping'], gw.adminUrl);
      assert.equal(ping.code, 0, ping.out);
      assert.match(ping.out, /Kong version:\s+3\.9\.0/);

      const sync = await deck(['sync', '-s', join(dir, 'kong.yaml')], gw.adminUrl);
      assert.equal(sync.code, 0, sync.out);
      assert.match(sync.out, /Created: 23\b/, sync.out);

      const dumpFile = join(dir, `dump-${database}.yaml`);
      const dump = await deck(['dump', '-o', dumpFile], gw.adminUrl);
      assert.equal(dump.code, 0, dump.out);
      const dumped = parse(await readFile(dumpFile, 'utf8')) as Obj;
      assertContains(await asStored(gw), dumped, 'dump');

      const diff = await deck(['diff', '-s', dumpFile], gw.adminUrl);
      assert.equal(diff.code, 0, diff.out);
      noChanges(diff.out);
      // a second sync of the dump changes nothing either
      noChanges((await deck(['sync', '-s', dumpFile], gw.adminUrl)).out);
      lastDump = await readFile(dumpFile, 'utf8');

      const reset = await deck(['reset', '--force'], gw.adminUrl);
      assert.equal(reset.code, 0, reset.out);
      const emptyFile = join(dir, `empty-${database}.yaml`);
      assert.equal((await deck(['dump', '-o', emptyFile], gw.adminUrl)).code, 0);
      assert.deepEqual(parse(await readFile(emptyFile, 'utf8')), { _format_version: '1.1' });
      for (const path of ['/services', '/consumers', '/acls', '/basic-auths', '/jwts', '/hmac-auths', '/key-auths', '/upstreams', '/certificates', '/plugins']) {
        assert.deepEqual((await gw.admin('GET', path)).body.data, [], path);
      }
    });
  });
}

describe('decK against a DB-less gateway fed the dump through POST /config', { skip }, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ database: 'off', logLevel: 'warn' });
  });
  after(async () => {
    await gw?.close();
  });

  it('loads the dump, diff shows no changes, dump gives it back', async () => {
    assert.ok(lastDump !== null, 'the database round trip ran first');
    const res = await fetch(`${gw.adminUrl}/config`, { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: lastDump });
    assert.equal(res.status, 201, await res.text());
    const dumpFile = join(dir, 'dump-dbless.yaml');
    await writeFile(dumpFile, lastDump);
    const diff = await deck(['diff', '-s', dumpFile], gw.adminUrl);
    assert.equal(diff.code, 0, diff.out);
    noChanges(diff.out);
    const again = join(dir, 'dump-dbless-again.yaml');
    assert.equal((await deck(['dump', '-o', again], gw.adminUrl)).code, 0);
    // Kong hashes basic-auth passwords of a declarative file unless it says `_transform: false`, which
    // decK 1.4 files cannot say: the dumped hash is hashed again (decK warns: "import/export of
    // basic-auth credentials using decK doesn't work due to hashing of passwords in Kong").
    const withoutPasswords = (doc: Obj): Obj => {
      for (const c of (doc.consumers as Obj[] | undefined) ?? []) for (const b of (c.basicauth_credentials as Obj[] | undefined) ?? []) delete b.password;
      return doc;
    };
    assert.deepEqual(withoutPasswords(parse(await readFile(again, 'utf8')) as Obj), withoutPasswords(parse(lastDump) as Obj));
  });
});
