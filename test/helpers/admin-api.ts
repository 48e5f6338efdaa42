/**
 * The Admin API alone, on 127.0.0.1 port 0, over a real store: SQLite in a
 * temporary directory (database mode) or the in-memory store (DB-less).
 * `call` speaks HTTP like a client would: JSON, form, multipart or raw bodies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { startAdmin, type AdminInfo, type AdminServer } from '../../src/admin/index.ts';
import { getPlugin, registerPlugin } from '../../src/plugins/index.ts';
import { createLogger } from '../../src/shared/log.ts';
import { createMemoryStore } from '../../src/store/memory.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';
import type { ConfigSnapshot } from '../../src/schema/entities/types.ts';

export interface CallResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
  headers: Headers;
}

export interface CallOptions {
  /** Content-Type for a string body (default application/json). */
  type?: string;
  headers?: Record<string, string>;
}

export interface TestAdmin {
  url: string;
  store: Store;
  admin: AdminServer;
  logs(): string;
  replaced: number;
  call(method: string, path: string, body?: unknown, opts?: CallOptions): Promise<CallResult>;
  close(): Promise<void>;
}

export interface TestAdminOptions {
  store?: 'sqlite' | 'memory';
  /** DB-less: read-only memory store, writes only through POST /config. */
  dbless?: boolean;
  snapshot?: Omit<ConfigSnapshot, 'version'>;
  adminToken?: string;
  maxBodyBytes?: number;
  info?: Partial<AdminInfo>;
}

/**
 * A small plugin with every kind of config field, for tests that must not
 * depend on a real plugin's schema.
 */
export const TEST_PLUGIN = 'admin-test-plugin';
export function registerTestPlugin(): void {
  if (getPlugin(TEST_PLUGIN)) return;
  registerPlugin({
    name: TEST_PLUGIN,
    version: '1.0.0',
    priority: 10,
    schema: Type.Object({
      count: Type.Integer({ default: 1, minimum: 0 }),
      names: Type.Array(Type.String(), { default: [] }),
      enabled_flag: Type.Boolean({ default: false }),
      nested: Type.Object({ depth: Type.Integer({ default: 2 }), label: Type.Optional(Type.Union([Type.String(), Type.Null()])) }, { default: {} }),
    }),
    compile: (c: unknown) => c,
  });
}

export async function startTestAdmin(opts: TestAdminOptions = {}): Promise<TestAdmin> {
  registerTestPlugin();
  let dir: string | null = null;
  let store: Store;
  if (opts.dbless || opts.store === 'memory') {
    store = createMemoryStore(opts.snapshot, { readOnly: opts.dbless === true });
  } else {
    dir = await mkdtemp(join(tmpdir(), 'portcullis-admin-'));
    store = await openSqliteStore(join(dir, 'portcullis.db'));
  }
  let logText = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logText += chunk.toString('utf8');
      cb();
    },
  });
  const state = { replaced: 0 };
  const admin = await startAdmin({
    listen: [{ host: '127.0.0.1', port: 0 }],
    store,
    logger: createLogger('info', sink),
    adminToken: opts.adminToken ?? null,
    ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    declarative: opts.dbless === true,
    info: () => ({ version: '0.1.0-test', hostname: 'test-host', node_id: '11111111-2222-4333-8444-555555555555', ...opts.info }),
    onConfigReplaced: () => {
      state.replaced++;
    },
  });
  const url = `http://127.0.0.1:${admin.addresses()[0]!.port}`;

  async function call(method: string, path: string, body?: unknown, o: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { ...o.headers };
    let payload: string | URLSearchParams | FormData | undefined;
    if (body instanceof URLSearchParams || body instanceof FormData) {
      payload = body;
    } else if (typeof body === 'string') {
      payload = body;
      headers['content-type'] ??= o.type ?? 'application/json';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let parsed: unknown = undefined;
    if ((res.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text);
    return { status: res.status, body: parsed, text, headers: res.headers };
  }

  return {
    url,
    store,
    admin,
    logs: () => logText,
    get replaced() {
      return state.replaced;
    },
    call,
    async close() {
      await admin.close();
      await store.close();
      if (dir !== null) await rm(dir, { recursive: true, force: true });
    },
  };
}
