/**
 * The TLS listener's fallback certificate, used when no SNI entity matches
 * (Kong generates a self-signed `localhost` certificate at start for the same
 * purpose). Made with the `openssl` CLI once per process; node:crypto cannot
 * issue X.509 certificates.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PemPair {
  cert: string;
  key: string;
}

let pending: Promise<PemPair> | null = null;

/** A self-signed P-256 certificate for CN=localhost (generated once per process). */
export function defaultCertificate(): Promise<PemPair> {
  if (pending === null) {
    pending = generate();
    pending.catch(() => {
      pending = null; // let a later start try again
    });
  }
  return pending;
}

async function generate(): Promise<PemPair> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cert-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  try {
    await run('openssl', [
      'req', '-x509', '-nodes',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', keyPath, '-out', certPath,
      '-days', '3650',
      '-subj', '/CN=localhost/O=Portcullis',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    ], { timeout: 30_000 });
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert, key };
  } catch (err) {
    throw new Error(`cannot generate the default TLS certificate with openssl (set ssl_cert/ssl_cert_key): ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
