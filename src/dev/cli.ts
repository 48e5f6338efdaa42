/**
 * `portcullis dev idp` and `portcullis dev echo` (also `npm run dev:idp` /
 * `npm run dev:echo`): the demo IdP and echo upstream on their own, so Kong's
 * walkthrough can be followed by hand with httpie (issue 4, must-have 2).
 *
 * Flags win over environment variables:
 *   idp   --host (PORTCULLIS_IDP_HOST, 127.0.0.1)  --port (PORTCULLIS_IDP_PORT, 9000)
 *         --realm (PORTCULLIS_IDP_REALM, demo)    --access-token-ttl seconds (PORTCULLIS_IDP_ACCESS_TOKEN_TTL, 300)
 *   echo  --host (PORTCULLIS_ECHO_HOST, 127.0.0.1) --port (PORTCULLIS_ECHO_PORT, 9100)
 *
 * Each runs until SIGINT/SIGTERM (or `io.signal` aborts), then closes its
 * listener and resolves with the exit code: 0 after a clean stop, 1 when it
 * could not start (e.g. "port 9000 is already in use (IdP)"), 2 on bad usage.
 */
import process from 'node:process';
import type { Writable } from 'node:stream';
import { startIdp, DEMO_USERS } from './idp.ts';
import { startEcho } from './echo.ts';

export interface DevCommandIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Stops the command when aborted (tests); SIGINT/SIGTERM always do. */
  signal?: AbortSignal;
  /** Called once the service listens (tests, the demo runner). */
  onReady?: (info: { url: string; port: number }) => void;
}

class UsageError extends Error {}

type FlagSpec = Record<string, 'string' | 'port' | 'seconds'>;

/** Parses `--name value` / `--name=value`; unknown flags and bad values are usage errors. */
export function parseFlags(argv: readonly string[], spec: FlagSpec): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument: ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unknown flag: --${name}`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    out[name] = convert(name, value, kind);
  }
  return out;
}

function convert(name: string, value: string, kind: FlagSpec[string]): string | number {
  if (kind === 'string') {
    if (value === '') throw new UsageError(`--${name} must not be empty`);
    return value;
  }
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a number (got ${JSON.stringify(value)})`);
  const n = Number(value);
  if (kind === 'port' && (n < 0 || n > 65535)) throw new UsageError(`--${name} must be a port between 0 and 65535`);
  if (kind === 'seconds' && n < 1) throw new UsageError(`--${name} must be at least 1`);
  return n;
}

function fromEnv(env: NodeJS.ProcessEnv, key: string, name: string, kind: FlagSpec[string]): string | number | undefined {
  const v = env[key];
  if (v === undefined || v === '') return undefined;
  try {
    return convert(name, v, kind);
  } catch (err) {
    throw new UsageError(`${key}: ${(err as Error).message.replace(`--${name} `, '')}`);
  }
}

function defaultIo(io: Partial<DevCommandIo>): DevCommandIo {
  return { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env, ...io } as DevCommandIo;
}

/** Resolves on SIGINT, SIGTERM or abort; removes its listeners afterwards. */
function untilStopped(signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string): void => {
      // Keep swallowing repeated signals while shutting down (npm forwards Ctrl-C a second time).
      process.on('SIGINT', ignore);
      process.on('SIGTERM', ignore);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const ignore = (): void => undefined;
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    const onAbort = (): void => done('abort');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (signal?.aborted === true) done('abort');
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const IDP_USAGE = 'usage: portcullis dev idp [--host 127.0.0.1] [--port 9000] [--realm demo] [--access-token-ttl 300]';
const ECHO_USAGE = 'usage: portcullis dev echo [--host 127.0.0.1] [--port 9100]';

export async function runDevIdp(argv: readonly string[], ioIn: Partial<DevCommandIo> = {}): Promise<number> {
  const io = defaultIo(ioIn);
  let host: string;
  let port: number;
  let realm: string;
  let ttl: number;
  try {
    const f = parseFlags(argv, { host: 'string', port: 'port', realm: 'string', 'access-token-ttl': 'seconds' });
    host = String(f.host ?? fromEnv(io.env, 'PORTCULLIS_IDP_HOST', 'host', 'string') ?? '127.0.0.1');
    port = Number(f.port ?? fromEnv(io.env, 'PORTCULLIS_IDP_PORT', 'port', 'port') ?? 9000);
    realm = String(f.realm ?? fromEnv(io.env, 'PORTCULLIS_IDP_REALM', 'realm', 'string') ?? 'demo');
    ttl = Number(f['access-token-ttl'] ?? fromEnv(io.env, 'PORTCULLIS_IDP_ACCESS_TOKEN_TTL', 'access-token-ttl', 'seconds') ?? 300);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`error: ${err.message}\n${IDP_USAGE}\n`);
    return 2;
  }

  let idp;
  try {
    idp = await startIdp({ host, port, realm, accessTokenTtl: ttl });
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
  const users = DEMO_USERS.map((u) => `    ${u.username.padEnd(20)} ${u.password}   (${u.note})`).join('\n');
  io.stdout.write(
    `Demo OpenID Provider (Keycloak-shaped realm "${realm}")\n`
    + `  issuer     ${idp.issuer}\n`
    + `  discovery  ${idp.discoveryUrl}\n`
    + `  token      ${idp.endpoints.token}\n`
    + '  clients    kong / kong-secret, service-client / service-secret\n'
    + `  users\n${users}\n`
    + `  try        http -f POST ${idp.endpoints.token} grant_type=password client_id=kong client_secret=kong-secret username=Blog_with_scope password=veryComplexPa55word\n`
    + 'Press Ctrl-C to stop.\n',
  );
  io.onReady?.({ url: idp.issuer, port: idp.port });
  await untilStopped(io.signal);
  await idp.close();
  io.stdout.write('Demo OpenID Provider stopped.\n');
  return 0;
}

export async function runDevEcho(argv: readonly string[], ioIn: Partial<DevCommandIo> = {}): Promise<number> {
  const io = defaultIo(ioIn);
  let host: string;
  let port: number;
  try {
    const f = parseFlags(argv, { host: 'string', port: 'port' });
    host = String(f.host ?? fromEnv(io.env, 'PORTCULLIS_ECHO_HOST', 'host', 'string') ?? '127.0.0.1');
    port = Number(f.port ?? fromEnv(io.env, 'PORTCULLIS_ECHO_PORT', 'port', 'port') ?? 9100);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`error: ${err.message}\n${ECHO_USAGE}\n`);
    return 2;
  }
  let echo;
  try {
    echo = await startEcho({ host, port });
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
  io.stdout.write(
    'Echo upstream (like httpbin\'s /anything)\n'
    + `  url   ${echo.url}/anything\n`
    + `  try   http ${echo.url}/anything?hello=world\n`
    + 'Press Ctrl-C to stop.\n',
  );
  io.onReady?.({ url: echo.url, port: echo.port });
  await untilStopped(io.signal);
  await echo.close();
  io.stdout.write('Echo upstream stopped.\n');
  return 0;
}
