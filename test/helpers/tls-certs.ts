/**
 * Test certificates made at test time with the `openssl` CLI (node:crypto
 * cannot issue X.509): a CA, and leaf certificates it signs — server
 * certificates for SNI names, client certificates for mutual TLS. P-256 keys,
 * valid for two days. Never used outside tests.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { send } from './http-client.ts';

const run = promisify(execFile);

export interface Pem {
  cert: string;
  key: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function inTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-test-pki-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A self-signed CA. */
export function makeCa(cn = 'Portcullis Test CA'): Promise<Pem> {
  return inTemp(async (dir) => {
    await run('openssl', ['req', '-x509', ...EC, '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    return { cert: await readFile(join(dir, 'c'), 'utf8'), key: await readFile(join(dir, 'k'), 'utf8') };
  });
}

/** A leaf certificate signed by `ca`: `server` (with DNS names) or `client` (extendedKeyUsage clientAuth). */
export function issue(ca: Pem, cn: string, kind: 'server' | 'client', dnsNames: string[] = []): Promise<Pem> {
  return inTemp(async (dir) => {
    await writeFile(join(dir, 'ca.pem'), ca.cert);
    await writeFile(join(dir, 'ca.key'), ca.key);
    const ext = [kind === 'server' ? 'extendedKeyUsage=serverAuth' : 'extendedKeyUsage=clientAuth', 'basicConstraints=CA:FALSE'];
    if (dnsNames.length > 0) ext.push(`subjectAltName=${[...dnsNames.map((d) => `DNS:${d}`), 'IP:127.0.0.1'].join(',')}`);
    await writeFile(join(dir, 'ext'), ext.join('\n') + '\n');
    await run('openssl', ['req', '-new', ...EC, '-keyout', join(dir, 'k'), '-out', join(dir, 'csr'), '-subj', `/CN=${cn}`]);
    await run('openssl', ['x509', '-req', '-in', join(dir, 'csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'c'), '-days', '2', '-extfile', join(dir, 'ext')]);
    return { cert: await readFile(join(dir, 'c'), 'utf8'), key: await readFile(join(dir, 'k'), 'utf8') };
  });
}

/** RFC 8705 `x5t#S256`: base64url SHA-256 of the certificate's DER (computed here independently of the gateway). */
export function x5tS256(pem: Pem): string {
  return createHash('sha256').update(new X509Certificate(pem.cert).raw).digest('base64url');
}

export interface TlsReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TlsRequestOptions {
  /** SNI to send; none when absent (node sends no SNI for an IP address). */
  servername?: string;
  /** Client certificate to present when asked. */
  client?: Pem;
  /** CA to verify the gateway with; without it the server certificate is not verified. */
  ca?: string;
  headers?: Record<string, string>;
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** One GET on a fresh TLS connection to 127.0.0.1:port (no agent, no session reuse). */
export async function tlsGet(port: number, path: string, o: TlsRequestOptions = {}): Promise<TlsReply> {
  const r = await send(`https://127.0.0.1:${port}${path}`, {
    headers: { connection: 'close', ...o.headers },
    servername: o.servername,
    // With a CA the gateway's certificate is verified; without one it is not.
    ca: o.ca,
    rejectUnauthorized: o.ca !== undefined,
    cert: o.client?.cert,
    key: o.client?.key,
    maxVersion: o.maxVersion,
  });
  return { status: r.status, headers: r.headers, body: r.body };
}

/** A token from an RFC 8705 token endpoint (the demo IdP's `mtlsTokenEndpoint`): client credentials, over TLS presenting `client`. */
export function certificateBoundToken(tokenEndpoint: string, client: Pem, basic: { id: string; secret: string } = { id: 'kong-mtls', secret: 'kong-mtls-secret' }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(tokenEndpoint, {
      method: 'POST',
      // The demo IdP's HTTPS listener has a generated self-signed certificate.
      rejectUnauthorized: false,
      cert: client.cert,
      key: client.key,
      agent: false,
      headers: { authorization: `Basic ${Buffer.from(`${basic.id}:${basic.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const parsed = JSON.parse(body) as { access_token?: string };
        if (res.statusCode !== 200 || typeof parsed.access_token !== 'string') reject(new Error(`token request failed: ${res.statusCode} ${body}`));
        else resolve(parsed.access_token);
      });
    });
    req.on('error', reject);
    req.end(new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }).toString());
  });
}
