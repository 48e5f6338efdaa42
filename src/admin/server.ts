/**
 * The Admin API server: Kong 3.x's Admin API (port 8001) on node:http.
 *
 * Each request goes: admin token (401) → route (404 / 405) → body, read with
 * a size limit (413) and parsed by content type (415, 400 on bad JSON) →
 * handler → JSON response. Errors are Kong-shaped (errors.ts); anything
 * unexpected is logged with its stack and answered as a bare 500 — no stack
 * or internal detail ever reaches a client.
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import { DEFAULT_MAX_BODY_BYTES, parseBody, readBody, type ParsedBody } from './body.ts';
import { aclsAdapter } from './acls.ts';
import { basicauthCredentialsAdapter } from './basicauth-credentials.ts';
import { certificatesAdapter } from './certificates.ts';
import { registerConfig } from './config.ts';
import { registerConsumerGroups } from './consumer-groups.ts';
import { registerCrud, setAdapter } from './crud.ts';
import { AdminError, notFound, unauthorized, unexpected } from './errors.ts';
import { registerInfo, registerStatus } from './info.ts';
import { keyauthCredentialsAdapter } from './keyauth-credentials.ts';
import { AdminRouter, withExtensions, type RouteDef } from './router.ts';
import { mergeNodeLocal, type NodeLocalFanout } from './node-local.ts';
import { registerSchemas } from './schemas.ts';
import { registerTags } from './tags.ts';
import { registerTargets } from './targets.ts';
import { enabledPlugins, getPlugin, loadAllPluginsAsync, pluginAdminRoutes } from '../plugins/index.ts';
import { warmPluginValidator } from '../schema/validate.ts';
import type { AdminContext, AdminInfo, AdminRequest, AdminResponse, AdminState } from './types.ts';
import { EXPOSITION_CONTENT_TYPE } from '../core/metrics-node.ts';

export interface StartAdminOptions {
  /**
   * `admin` (default): the whole Admin API. `status`: Kong's status API
   * (status_listen): GET /status, GET|POST /status/ready and GET /metrics, no
   * admin token (Kong's status API has none), no plugin endpoints.
   */
  surface?: 'admin' | 'status';
  /** Addresses to listen on; port 0 picks a free port. */
  listen: Array<{ host: string; port: number }>;
  store: Store;
  logger: Logger;
  /** When set, every request must carry `Kong-Admin-Token: <token>` or `Authorization: Bearer <token>`. */
  adminToken?: string | null;
  /** Largest request body accepted (default 10 MiB). */
  maxBodyBytes?: number;
  info: () => AdminInfo;
  /** Cluster mode: runs node-local endpoints in the workers too (src/admin/node-local.ts). */
  nodeLocalFanout?: NodeLocalFanout | undefined;
  /** Called after POST /config replaced the configuration. */
  onConfigReplaced?: () => void;
  /** DB-less mode: entity writes answer 405, POST /config is the way to change configuration. */
  declarative: boolean;
  /** State shared with the node's other API surface (the status listener sees POST /config's hash). */
  state?: AdminState;
  /** Prometheus text for `GET /metrics` (absent: no such endpoint). */
  metricsText?: (() => Promise<string>) | undefined;
  /**
   * Kong's `admin_gui_origin` (derived from `admin_gui_url`): the origins
   * allowed to call this API from a browser. Empty or absent: any origin.
   */
  adminGuiOrigins?: readonly string[] | undefined;
}

export type { AdminInfo } from './types.ts';

export interface AdminServer {
  addresses(): Array<{ host: string; port: number }>;
  close(): Promise<void>;
}

const NEEDS_BODY = new Set(['POST', 'PUT', 'PATCH']);

function buildRouter(): AdminRouter {
  setAdapter('certificates', certificatesAdapter);
  setAdapter('keyauth_credentials', keyauthCredentialsAdapter);
  setAdapter('acls', aclsAdapter);
  setAdapter('basicauth_credentials', basicauthCredentialsAdapter);
  const router = new AdminRouter();
  const all = (): readonly RouteDef[] => [...router.routes, ...withExtensions(pluginAdminRoutes())];
  registerInfo(router, all);
  registerSchemas(router);
  registerTags(router);
  registerConfig(router);
  registerTargets(router);
  registerCrud(router);
  registerConsumerGroups(router);
  return router;
}

function registerMetrics(router: AdminRouter, metricsText: () => Promise<string>): void {
  // the Prometheus exposition format (text 0.0.4), what Kong's prometheus plugin serves on the Admin
  // API and the status API (api.lua, status_api.lua)
  router.add('GET', '/metrics', async () => ({
    status: 200,
    text: await metricsText(),
    contentType: EXPOSITION_CONTENT_TYPE,
  }));
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The token the client presented: `Kong-Admin-Token`, else `Authorization: Bearer`. */
function presentedToken(req: IncomingMessage): string | null {
  const header = req.headers['kong-admin-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer[ \t]+(.+)$/i.exec(auth.trim());
    if (m !== null) return m[1]!.trim();
  }
  return null;
}

/**
 * Kong's Admin API CORS headers (kong/api/api_helpers.lua `cors_filter`):
 * the request's Origin is echoed (`*` without one) and credentials are
 * allowed, so Kong Manager's credentialed requests work from its own
 * origin. With `admin_gui_url` set, only its origins are echoed; any other
 * Origin gets the first of them, which the browser does not accept.
 * A preflight also allows the headers it asks for (`Content-Type` when it
 * names none). We add `Vary: Origin` (Kong does not) because the answer
 * depends on the Origin header, so no shared cache may reuse it for another.
 */
export function corsHeaders(req: IncomingMessage, method: string, allowedOrigins: readonly string[]): Record<string, string> {
  const origin = req.headers.origin;
  let allow: string;
  if (allowedOrigins.length > 0) allow = origin !== undefined && allowedOrigins.includes(origin) ? origin : allowedOrigins[0]!;
  else allow = origin ?? '*';
  const headers: Record<string, string> = {
    'access-control-allow-origin': allow,
    'access-control-allow-credentials': 'true',
    vary: 'Origin',
  };
  if (method === 'OPTIONS') {
    const asked = req.headers['access-control-request-headers'];
    headers['access-control-allow-headers'] = typeof asked === 'string' && asked !== '' ? asked : 'Content-Type';
  }
  return headers;
}

function send(res: ServerResponse, method: string, response: AdminResponse, startedAt: number, cors: Record<string, string>): void {
  const headers: Record<string, string> = {
    ...cors,
    'x-kong-admin-latency': String(Math.round(performance.now() - startedAt)),
    ...response.headers,
  };
  let payload: string | null = null;
  if (response.status !== 204 && response.status !== 304) {
    if (response.text !== undefined) {
      payload = response.text;
      headers['content-type'] = response.contentType ?? 'text/plain; charset=utf-8';
    } else if (response.body !== undefined) {
      payload = JSON.stringify(response.body);
      headers['content-type'] = 'application/json; charset=utf-8';
    }
  }
  if (payload !== null) headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(response.status, headers);
  res.end(method === 'HEAD' || payload === null ? undefined : payload);
}

function errorResponse(err: AdminError): AdminResponse {
  return err.body === null ? { status: err.status, headers: err.headers } : { status: err.status, body: err.body, headers: err.headers };
}

export async function startAdmin(opts: StartAdminOptions): Promise<AdminServer> {
  const status = opts.surface === 'status';
  let router: AdminRouter;
  if (status) {
    router = new AdminRouter();
    registerStatus(router, true);
  } else {
    // Plugins load lazily (src/plugins/index.ts); the Admin API serves every one's schema and endpoints.
    await loadAllPluginsAsync();
    // Build every plugin's validator before listening, one per macrotask: in cluster mode this process
    // also hands new connections to the workers, and must not stop for the first write of a plugin.
    for (const name of enabledPlugins()) {
      const module = getPlugin(name);
      if (module !== undefined) warmPluginValidator(module);
      await new Promise((resolve) => setImmediate(resolve));
    }
    router = buildRouter();
  }
  if (opts.metricsText !== undefined) registerMetrics(router, opts.metricsText);
  const extensions = (): readonly RouteDef[] => (status ? [] : withExtensions(pluginAdminRoutes()));
  const ctx: AdminContext = {
    store: opts.store,
    log: opts.logger,
    info: opts.info,
    declarative: opts.declarative,
    ...(opts.onConfigReplaced !== undefined ? { onConfigReplaced: opts.onConfigReplaced } : {}),
    state: opts.state ?? { configHash: null },
  };
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const tokenDigest = opts.adminToken && !status ? digest(opts.adminToken) : null;
  const allowedOrigins = opts.adminGuiOrigins ?? [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const cors = corsHeaders(req, method, allowedOrigins);
    try {
      if (tokenDigest !== null && method !== 'OPTIONS') {
        const presented = presentedToken(req);
        // compare digests: constant time, whatever the lengths
        if (presented === null || !timingSafeEqual(digest(presented), tokenDigest)) throw unauthorized();
      }

      // split by hand: `new URL()` would read `//x` as a host and resolve dot segments
      const rawUrl = req.url ?? '/';
      const q = rawUrl.indexOf('?');
      const pathname = q === -1 ? rawUrl : rawUrl.slice(0, q);
      const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
      const match = router.match(method, pathname, extensions());
      if (method === 'OPTIONS') {
        if (match.kind === 'none') throw notFound();
        const allowed = match.kind === 'ok' ? [match.route.method, ...(match.route.method === 'GET' ? ['HEAD'] : [])] : match.allowed;
        const methods = [...new Set([...allowed, 'OPTIONS'])].sort().join(', ');
        req.resume();
        send(res, method, {
          status: 204,
          headers: {
            allow: methods,
            'access-control-allow-methods': methods,
          },
        }, startedAt, cors);
        return;
      }
      if (match.kind === 'none') throw notFound();
      if (match.kind === 'method') {
        // the allowed methods of this path, for clients that look
        throw new AdminError(405, { message: 'Method not allowed' }, { allow: match.allowed.sort().join(', ') });
      }

      const raw = await readBody(req, maxBody);
      let body: ParsedBody = { kind: 'none', value: undefined, raw, contentType: req.headers['content-type'] ?? null };
      if (NEEDS_BODY.has(method)) body = await parseBody(raw, req.headers['content-type'], match.route.options);

      const adminReq: AdminRequest = {
        method,
        path: pathname,
        params: match.params,
        query,
        headers: req.headers,
        body,
      };
      let response = await match.route.handler(adminReq, ctx);
      if (match.route.options.nodeLocal === true && opts.nodeLocalFanout !== undefined) {
        response = mergeNodeLocal(response, await opts.nodeLocalFanout({ method, path: pathname, query: query.toString() }));
      }
      send(res, method, response, startedAt, cors);
    } catch (err) {
      let adminErr: AdminError;
      if (err instanceof AdminError) {
        adminErr = err;
      } else {
        opts.logger.error({ err, method, url: req.url }, 'admin api: unexpected error');
        adminErr = unexpected();
      }
      if (!req.readableEnded) req.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, method, errorResponse(adminErr), startedAt, cors);
    }
  }

  const servers: Server[] = [];
  for (const addr of opts.listen) {
    const server = createServer((req, res) => {
      void handle(req, res);
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    opts.logger.info({ host: addr.host, port: (server.address() as AddressInfo).port }, status ? 'status api listening' : 'admin api listening');
    servers.push(server);
  }

  return {
    addresses() {
      return servers.map((s) => {
        const a = s.address() as AddressInfo;
        return { host: a.address, port: a.port };
      });
    },
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeIdleConnections();
            }),
        ),
      );
    },
  };
}

