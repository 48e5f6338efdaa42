/**
 * Tutorial 11 (docs/tutorials/11-mtls-bound-tokens.md) against the real demo
 * (`portcullis demo --proxy-ssl-port … --idp-mtls-port …`, on free ports): the
 * page's Admin API calls (as JSON, httpie is not assumed), then the page's
 * shell blocks themselves — openssl, curl, jq — read from the Markdown and
 * run with bash, the ports swapped for the test's. Asserts the outputs the
 * page shows: 200 with the certificate, 401 invalid_token without it and over
 * plain HTTP, and the token's cnf = the certificate's thumbprint.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { freePorts } from '../helpers/ports.ts';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGE = join(REPO, 'docs', 'tutorials', '11-mtls-bound-tokens.md');
const run = promisify(execFile);

let demo: ChildProcess | null = null;
let work: string | null = null;

after(async () => {
  if (demo?.pid !== undefined && demo.exitCode === null) {
    const exited = new Promise((r) => demo!.once('exit', r));
    process.kill(-demo.pid, 'SIGINT');
    await exited;
  }
  if (work !== null) await rm(work, { recursive: true, force: true });
});

/** The page's ```sh blocks, in order. */
async function shellBlocks(): Promise<string[]> {
  const md = await readFile(PAGE, 'utf8');
  return [...md.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test('tutorial 11 against the demo: certificate-bound tokens with curl', async () => {
  const [idp, echo, proxy, admin, ssl, mtls] = (await freePorts(6)) as [number, number, number, number, number, number];
  demo = spawn(process.execPath, [join(REPO, 'src', 'cli', 'main.ts'), 'demo', '--idp-port', String(idp), '--echo-port', String(echo), '--proxy-port', String(proxy), '--admin-port', String(admin), '--proxy-ssl-port', String(ssl), '--idp-mtls-port', String(mtls)], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  demo.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  demo.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Open in a browser')) {
    if (demo.exitCode !== null || Date.now() > deadline) throw new Error(`demo did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(out, new RegExp(`IdP mTLS token URL: +https://127\\.0\\.0\\.1:${mtls}/realms/demo/protocol/openid-connect/token`));
  const issuer = `http://127.0.0.1:${idp}/realms/demo`;
  const adminUrl = `http://127.0.0.1:${admin}`;

  const blocks = await shellBlocks();
  assert.equal(blocks.length, 7, 'the page has the blocks this test runs');
  assert.match(blocks[0]!, /npm run demo -- --proxy-ssl-port 8443 --idp-mtls-port 9443/);

  // Section 2, as JSON (the page uses httpie).
  assert.match(blocks[2]!, /name=mtlsRoute paths=\/mtls[\s\S]*name=tls-handshake-modifier[\s\S]*"proof_of_possession_mtls": "strict"/);
  const post = async (path: string, body: unknown, form = false) => {
    const res = await fetch(adminUrl + path, {
      method: 'POST',
      headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
      body: form ? new URLSearchParams(body as Record<string, string>) : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  let r = await post('/services/openidconnect/routes', { name: 'mtlsRoute', paths: '/mtls' }, true);
  assert.equal(r.status, 201, r.text);
  r = await post('/routes/mtlsRoute/plugins', { name: 'tls-handshake-modifier' });
  assert.equal(r.status, 201, r.text);
  r = await post('/routes/mtlsRoute/plugins', {
    name: 'openid-connect',
    config: { issuer, client_id: ['kong'], client_secret: ['kong-secret'], auth_methods: ['bearer'], proof_of_possession_mtls: 'strict' },
  });
  assert.equal(r.status, 201, r.text);

  // Sections 1 and 3: the page's shell, ports swapped, in one bash (TOKEN carries over), in a scratch directory.
  const ported = (s: string) =>
    s
      .replaceAll('127.0.0.1:9443', `127.0.0.1:${mtls}`)
      .replaceAll('localhost:8443', `localhost:${ssl}`)
      .replaceAll('localhost:8000', `localhost:${proxy}`);
  const script = ['set -euo pipefail', blocks[1]!, blocks[3]!, 'echo "--- cnf"', blocks[4]!, 'echo "--- with"', blocks[5]!, 'echo "--- without"', blocks[6]!, 'echo "--- another"',
    // Not on the page as a command: the same call with a second certificate.
    'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key -out other.crt -days 1 -subj /CN=other 2>/dev/null',
    `curl -sk --cert other.crt --key other.key -H "Authorization: Bearer $TOKEN" -o /dev/null -w '%{http_code}\\n' https://localhost:8443/mtls`,
  ].map(ported).join('\n');
  work = await mkdtemp(join(tmpdir(), 'portcullis-tutorial-11-'));
  const { stdout } = await run('bash', ['-c', script], { cwd: work, timeout: 60_000 });
  const [, cnfPart, withPart, withoutPart, anotherPart] = stdout.split(/^--- \w+$/m) as [string, string, string, string, string];

  const thumb = createHash('sha256').update(new X509Certificate(await readFile(join(work, 'client.crt'))).raw).digest('base64url');
  assert.deepEqual(JSON.parse(cnfPart), { 'x5t#S256': thumb });
  assert.equal(withPart.trim(), '200');
  assert.match(withoutPart, /^HTTP\/1\.1 401 Unauthorized\r?$/m);
  assert.match(withoutPart, /^www-authenticate: Bearer realm="127\.0\.0\.1", error="invalid_token"\r?$/m);
  assert.match(withoutPart, /^401$/m, 'plain HTTP');
  assert.equal(anotherPart.trim(), '401');
});
