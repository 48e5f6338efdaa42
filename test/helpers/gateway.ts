/**
 * A whole gateway in this process for integration tests: store + Admin API +
 * proxy, every listener on 127.0.0.1 port 0, logs captured for assertions.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLogs, type LogCapture } from './log-capture.ts';
import { resolveSettings, type Settings } from '../../src/cli/settings.ts';
import { createLogger } from '../../src/shared/log.ts';
import { startGateway as start, type GatewayHandle } from '../../src/gateway.ts';

export type { LogCapture } from './log-capture.ts';

export interface TestGateway {
  proxyUrl: string;
  /** https listener URL (https://127.0.0.1:port) */
  proxyHttpsUrl: string;
  adminUrl: string;
  logs: LogCapture;
  gateway: GatewayHandle;
  dataDir: string;
  /** Call the Admin API with a JSON body; returns status and parsed JSON (or text). */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  /** Resolves once every configuration change so far is live in the proxy. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  database?: 'sqlite' | 'off' | 'postgres';
  /** Declarative config text (YAML/JSON) for DB-less mode. */
  declarative?: string;
  /** Reuse a data dir (restart tests). */
  dataDir?: string;
  /** Extra flags as on the command line (e.g. { 'trusted-ips': '127.0.0.1/32' }). */
  flags?: Record<string, string>;
  logLevel?: string;
  /** Keep the data dir on close (restart tests). */
  keepData?: boolean;
}


export async function startGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'portcullis-test-')));
  const flags: Record<string, string> = {
    'proxy-listen': '127.0.0.1:0, 127.0.0.1:0 ssl',
    'admin-listen': '127.0.0.1:0',
    'data-dir': dataDir,
    workers: '1',
    'log-level': options.logLevel ?? 'debug',
    database: options.database ?? (options.declarative !== undefined ? 'off' : 'sqlite'),
    'session-secret': 'test-session-secret-0123456789abcdef',
    ...options.flags,
  };
  if (options.declarative !== undefined) {
    const file = join(dataDir, 'kong.yml');
    await writeFile(file, options.declarative);
    flags['declarative-config'] = file;
  }
  const settings: Settings = resolveSettings(flags, {});
  if (flags.database === 'postgres') settings.pg = { ...settings.pg, user: 'postgres', database: 'test', schema: `gw_${process.pid}_${Date.now()}` };
  const { stream, logs } = captureLogs();
  const logger = createLogger((options.logLevel ?? 'debug') as 'debug', stream);
  const gateway = await start(settings, { logger });
  const proxies = gateway.proxyAddresses();
  const plain = proxies.find((p) => !p.ssl)!;
  const tls = proxies.find((p) => p.ssl);
  const admin = gateway.adminAddresses()[0]!;
  const adminUrl = `http://127.0.0.1:${admin.port}`;
  return {
    proxyUrl: `http://127.0.0.1:${plain.port}`,
    proxyHttpsUrl: tls ? `https://127.0.0.1:${tls.port}` : '',
    adminUrl,
    logs,
    gateway,
    dataDir,
    async admin(method, path, body) {
      const res = await fetch(adminUrl + path, {
        method,
        headers: body !== undefined ? { 'content-type': 'application/json' } : {},
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    settle: () => gateway.runtime.reload(),
    async close() {
      await gateway.close();
      if (options.dataDir === undefined && !options.keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
