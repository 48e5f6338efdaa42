/**
 * `npm run demo` (portcullis demo): the whole zero-trust walkthrough on one
 * machine — a local OpenID Provider shaped like the Keycloak realm of Kong's
 * walkthrough, an httpbin-like echo upstream, and the gateway configured with
 * the walkthrough's service, route and openid-connect plugin.
 *
 * Opt-in for tutorial 11 (certificate-bound tokens): `--proxy-ssl-port` adds
 * an `ssl` proxy listener, `--idp-mtls-port` the IdP's mutual-TLS listener
 * whose token endpoint binds tokens to the client certificate (RFC 8705).
 */
import process from 'node:process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSettings, type FlagMap } from '../settings.ts';
import { configureLogger, type LogLevel } from '../../shared/log.ts';
import { generateSecret } from '../../shared/secret.ts';
import { startGateway } from '../../gateway.ts';
import { parseDeclarative } from '../../store/declarative/index.ts';
import { startIdp, type Idp } from '../../dev/idp.ts';
import { startEcho, type Echo } from '../../dev/echo.ts';

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/** Fail early, naming the port and what needed it, instead of a half-started demo. */
export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(`port ${port} is already in use (${what}); free it or choose another with --${what.toLowerCase().replace(/[^a-z]+/g, '-')}-port`) : err);
    });
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

/**
 * The demo IdP's client for back-channel logout (tutorial 10): the IdP calls
 * `<proxy>/app/backchannel-logout` with a logout token when a user signs out.
 */
export function demoClients(proxyPort: number): Record<string, unknown>[] {
  return [{
    client_id: 'kong-bcl',
    client_secret: 'kong-bcl-secret',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [`http://127.0.0.1:${proxyPort}/app`, `http://localhost:${proxyPort}/app`],
    backchannel_logout_uri: `http://127.0.0.1:${proxyPort}/app/backchannel-logout`,
    backchannel_logout_session_required: true,
  }];
}

export function demoConfig(echoUrl: string, issuer: string, proxyPort: number): string {
  return JSON.stringify({
    _format_version: '3.0',
    services: [
      {
        name: 'openidconnect',
        url: `${echoUrl}/anything`,
        routes: [
          {
            name: 'openidconnectRoute',
            paths: ['/oidc'],
            plugins: [
              {
                name: 'openid-connect',
                config: {
                  issuer,
                  client_id: ['kong'],
                  client_secret: ['kong-secret'],
                  redirect_uri: [`http://localhost:${proxyPort}/oidc`],
                  consumer_optional: true,
                  scopes_required: ['kong_api_access'],
                },
              },
            ],
          },
        ],
      },
    ],
  });
}

/** A port flag; `optional` ones may be 0 (off) and default to it. */
function num(flags: FlagMap, flag: string, env: string, dflt: number, optional = false): number {
  const v = flags[flag] ?? process.env[env];
  if (v === undefined || v === '') return dflt;
  if (optional && v === '0') return 0;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  // Port 0 would print an unusable URL and redirect_uri, so the demo wants a real port.
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--${flag} (${env}): expected a port number between 1 and 65535`);
  return n;
}

interface Closable {
  close(): Promise<void>;
}

/** Closes what was started, newest first; never throws. */
async function closeAll(parts: Closable[]): Promise<void> {
  for (const part of parts.reverse()) await part.close().catch(() => undefined);
}

/** If stopping hangs (a stuck connection), give up after this long rather than ignore Ctrl-C forever. */
const STOP_DEADLINE_MS = 10_000;

export async function demo(flags: FlagMap): Promise<number> {
  const idpPort = num(flags, 'idp-port', 'PORTCULLIS_DEMO_IDP_PORT', 9000);
  const echoPort = num(flags, 'echo-port', 'PORTCULLIS_DEMO_ECHO_PORT', 9100);
  const proxyPort = num(flags, 'proxy-port', 'PORTCULLIS_DEMO_PROXY_PORT', 8000);
  const adminPort = num(flags, 'admin-port', 'PORTCULLIS_DEMO_ADMIN_PORT', 8001);
  // Off unless asked for (0): the tutorials that need them say so.
  const proxySslPort = num(flags, 'proxy-ssl-port', 'PORTCULLIS_DEMO_PROXY_SSL_PORT', 0, true);
  const idpMtlsPort = num(flags, 'idp-mtls-port', 'PORTCULLIS_DEMO_IDP_MTLS_PORT', 0, true);
  const ports = new Map<number, string>();
  const wanted: Array<readonly [number, string]> = [[idpPort, 'IdP'], [echoPort, 'Echo'], [proxyPort, 'Proxy'], [adminPort, 'Admin']];
  if (proxySslPort !== 0) wanted.push([proxySslPort, 'Proxy (TLS)']);
  if (idpMtlsPort !== 0) wanted.push([idpMtlsPort, 'IdP (mTLS)']);
  for (const [port, what] of wanted) {
    const other = ports.get(port);
    if (other !== undefined) {
      process.stderr.write(`demo: port ${port} is given to both the ${other} and the ${what}; choose distinct ports\n`);
      return 1;
    }
    ports.set(port, what);
  }
  try {
    await assertPortFree('127.0.0.1', idpPort, 'IdP');
    await assertPortFree('127.0.0.1', echoPort, 'Echo');
    await assertPortFree('127.0.0.1', proxyPort, 'Proxy');
    await assertPortFree('127.0.0.1', adminPort, 'Admin');
    if (proxySslPort !== 0) await assertPortFree('127.0.0.1', proxySslPort, 'Proxy (TLS)');
    if (idpMtlsPort !== 0) await assertPortFree('127.0.0.1', idpMtlsPort, 'IdP (mTLS)');
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    return 1;
  }
  const database = (flags.database as string | undefined) ?? 'sqlite';
  if (database !== 'sqlite' && database !== 'postgres') {
    process.stderr.write(`demo: --database must be sqlite or postgres (got '${database}')\n`);
    return 1;
  }
  const log = configureLogger(((flags['log-level'] as string | undefined) ?? 'notice') as LogLevel);
  const dataDir = await mkdtemp(join(tmpdir(), 'portcullis-demo-'));
  // Everything started so far, so a failure half-way (a port taken between the
  // check above and the bind) stops the rest instead of leaving a process that
  // neither works nor exits.
  const started: Closable[] = [{ close: () => rm(dataDir, { recursive: true, force: true }) }];
  let idp: Idp;
  let echo: Echo;
  try {
    idp = await startIdp({ host: '127.0.0.1', port: idpPort, clients: demoClients(proxyPort), ...(idpMtlsPort !== 0 ? { mtlsPort: idpMtlsPort } : {}) });
    started.push(idp);
    echo = await startEcho({ host: '127.0.0.1', port: echoPort });
    started.push(echo);
    const settings = resolveSettings({
      'proxy-listen': proxySslPort === 0 ? `127.0.0.1:${proxyPort}` : `127.0.0.1:${proxyPort}, 127.0.0.1:${proxySslPort} ssl`,
      'admin-listen': `127.0.0.1:${adminPort}`,
      'data-dir': dataDir,
      // postgres (tutorial 10, part 3): KONG_PG_* name the database; the schema is created if missing.
      database,
      workers: '1',
      // A fresh random secret per run: demo sessions need not survive a restart,
      // and a fixed one would be a secret in the source.
      'session-secret': typeof flags['session-secret'] === 'string' ? flags['session-secret'] : generateSecret(),
    });
    const gateway = await startGateway(settings, { logger: log });
    started.push(gateway);
    const parsed = parseDeclarative(demoConfig(echo.url, idp.issuer, proxyPort), { format: 'json' });
    if (!parsed.ok) throw new Error(`demo configuration is invalid: ${parsed.message}`);
    await gateway.store.replaceAll(parsed.config);
    await gateway.runtime.reload();
  } catch (err) {
    await closeAll(started);
    process.stderr.write(`demo: could not start: ${(err as Error).message}\n`);
    return 1;
  }

  process.stdout.write(`
Portcullis demo is running — zero trust with a local identity provider.

  Open in a browser:   http://localhost:${proxyPort}/oidc
  Log in as:           Blog_with_scope     / veryComplexPa55word   → the echo upstream shows your bearer token
                       Blog_without_scope  / veryComplexPa55word   → 403 Forbidden (no kong_api_access scope)

  Identity provider:   ${idp.issuer}
  Echo upstream:       ${echo.url}/anything
  Admin API:           http://127.0.0.1:${adminPort}   (try: http :${adminPort}/routes/openidconnectRoute/plugins)
${proxySslPort !== 0 ? `  Proxy over TLS:      https://localhost:${proxySslPort}   (self-signed certificate)\n` : ''}${idp.mtlsTokenEndpoint !== null ? `  IdP mTLS token URL:  ${idp.mtlsTokenEndpoint}   (client kong-mtls / kong-mtls-secret)\n` : ''}
Press Ctrl-C to stop everything.
`);
  let stopping = false;
  const stop = (): void => {
    // Ctrl-C under `npm run demo` reaches this process twice (the terminal
    // signals the whole process group and npm forwards the signal to its
    // child), so the handlers stay installed and repeats are ignored: with
    // `once`, the second SIGINT would kill the process mid-cleanup.
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      process.stderr.write('demo: could not stop cleanly within 10 s; exiting anyway\n');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    void closeAll(started).then(() => {
      process.stdout.write('demo stopped\n');
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return -1;
}
