/**
 * The demo / test OpenID Provider: a real `oidc-provider` 9 shaped like the
 * Keycloak realm of Kong's walkthrough (issue 4), shared by `npm run demo`,
 * `portcullis dev idp` and the test suite (issue 3).
 *
 *   issuer         http://127.0.0.1:<port>/realms/demo   (Keycloak's shape)
 *   discovery      <issuer>/.well-known/openid-configuration
 *   clients        kong / kong-secret (confidential: code, refresh, client
 *                  credentials, password; any loopback redirect URI),
 *                  service-client / service-secret (client credentials),
 *                  kong-public (public, PKCE), kong-jwt (private_key_jwt),
 *                  kong-secret-jwt (client_secret_jwt), kong-mtls /
 *                  kong-mtls-secret (client credentials, certificate-bound
 *                  tokens: RFC 8705, over the `mtlsPort` listener)
 *   users          Blog_with_scope, Blog_without_scope / veryComplexPa55word
 *   access tokens  RS256 JWTs with Keycloak claims, for every grant
 *
 * Outage simulation (`setDown`): while down, every request is answered 503
 * `temporarily_unavailable` with `Connection: close` (mode 'http-503', the
 * default), or the listener is closed so connections are refused (mode
 * 'refuse'; the same port is bound again on recovery).
 */
import { Buffer } from 'node:buffer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { defaultCertificate } from '../core/proxy/default-cert.ts';
import type { Socket } from 'node:net';
import { randomBytes, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { Provider } from 'oidc-provider';
import { loadOidcProvider } from './idp/load.ts';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import { KeyRing } from './idp/keys.ts';
import { AccessTokenMinter } from './idp/access-tokens.ts';
import { buildProvider, sendUnavailable, ROUTES, INTERACTION_BASE } from './idp/provider.ts';
import { handleInteraction } from './idp/interactions.ts';
import { translateRequest } from './idp/translate.ts';
import { Realm, keycloakAccessTokenClaims, DEMO_PASSWORD } from './idp/realm.ts';

export { DEMO_PASSWORD } from './idp/realm.ts';

export interface StartIdpOptions {
  /** Loopback address to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one (tests), the demo uses 9000. */
  port?: number;
  /** Realm name in the issuer path; default 'demo'. */
  realm?: string;
  /** Extra oidc-provider client metadata records (client_id required). */
  clients?: Record<string, unknown>[];
  /** Access (and ID) token lifetime in seconds; default 300 (Keycloak's 5 minutes). */
  accessTokenTtl?: number;
  /** Require pushed authorization requests (RFC 9126) from every client, advertised in discovery; default false. */
  requirePar?: boolean;
  /**
   * Also serve the realm over HTTPS on this port (0: a free one), asking every client for a
   * certificate (not verified): tokens issued there to `kong-mtls` are bound to it (RFC 8705
   * `cnf.x5t#S256`). The issuer stays the plain-HTTP one. Absent: no HTTPS listener.
   */
  mtlsPort?: number;
  logger?: Logger;
}

export interface IssueAccessTokenOptions {
  /** Demo username (Keycloak claims of that user) … */
  username?: string;
  /** … or an explicit subject (a service account style token when no username). */
  sub?: string;
  /** Granted scope; the token's `scope` claim follows Keycloak's rules (see realm.ts). */
  scope?: string;
  /** Overrides `aud` (default [client_id, "account"]). */
  aud?: string | string[];
  /** Seconds until `exp`; may be ≤ 0 for an already expired token. Default: accessTokenTtl. */
  expiresIn?: number;
  /** Claims merged last (override anything, e.g. `iss`, `nbf`, `azp`). */
  extraClaims?: Record<string, unknown>;
  /** Client the token is issued to; default 'kong'. */
  clientId?: string;
}

export interface TestClients {
  /** Public client (token_endpoint_auth_method none, PKCE required). */
  publicClient: { client_id: string };
  /** private_key_jwt client and the private key it signs assertions with. */
  privateKeyJwt: { client_id: string; privateJwk: JWK; alg: 'RS256' };
  /** client_secret_jwt client. */
  clientSecretJwt: { client_id: string; client_secret: string };
}

export interface Idp {
  /** `http://<host>:<port>/realms/<realm>` */
  issuer: string;
  port: number;
  /** `<issuer>/.well-known/openid-configuration` */
  discoveryUrl: string;
  /** Absolute endpoint URLs (Keycloak paths). */
  endpoints: { authorization: string; token: string; introspection: string; revocation: string; userinfo: string; end_session: string; jwks: string; par: string };
  /** The token endpoint on the HTTPS listener that binds tokens to the client certificate (`mtlsPort`), else null. */
  mtlsTokenEndpoint: string | null;
  testClients: TestClients;
  /** kid of the key that signs new tokens. */
  currentKid(): string;
  /** New RS256 key signs from now on; the old ones stay published until dropOldKeys(). */
  rotateSigningKey(): Promise<void>;
  /** Unpublish every key but the current one. */
  dropOldKeys(): Promise<void>;
  /** Simulate an outage (see module comment). Resolves once the new state holds. */
  setDown(down: boolean, mode?: 'http-503' | 'refuse'): Promise<void>;
  /** Number of HTTP requests served (or refused with 503) so far, by path relative to the issuer. */
  requestCount(path?: string): number;
  /** A JWT access token signed by the current key, backed by a real provider token when it is not expired. */
  issueAccessToken(opts?: IssueAccessTokenOptions): Promise<string>;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

function listen(server: Server, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(Object.assign(new Error(`port ${port} is already in use (${what})`), { code: 'EADDRINUSE', port }));
      else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startIdp(opts: StartIdpOptions = {}): Promise<Idp> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) throw new Error(`the demo IdP only binds to loopback (got ${host})`);
  const realmName = opts.realm ?? 'demo';
  if (!/^[A-Za-z0-9_-]+$/.test(realmName)) throw new Error(`invalid realm name: ${realmName}`);
  const accessTokenTtl = opts.accessTokenTtl ?? 300;
  const log = opts.logger;
  const realm = new Realm(realmName);
  const keys = await KeyRing.create();
  const prefix = `/realms/${realmName}`;

  // Client used for private_key_jwt tests: the IdP knows only its public key.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientKid = randomUUID();
  const clientPrivateJwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: clientKid, alg: 'RS256', use: 'sig' };
  const clientPublicJwk = { kty: 'RSA', n: clientPrivateJwk.n, e: clientPrivateJwk.e, kid: clientKid, alg: 'RS256', use: 'sig' };
  const secretJwtSecret = randomBytes(32).toString('base64url');

  const baseRedirects = ['http://localhost:8000/oidc', 'http://127.0.0.1:8000/oidc'];
  const clients: Record<string, unknown>[] = [
    {
      client_id: 'kong',
      client_secret: 'kong-secret',
      client_name: 'Kong',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:token-exchange'],
      response_types: ['code'],
      redirect_uris: baseRedirects,
      post_logout_redirect_uris: ['http://localhost:8000/', 'http://127.0.0.1:8000/'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      // Like `kong`, but the IdP accepts its authorization requests only pushed (RFC 9126).
      client_id: 'kong-par',
      client_secret: 'kong-par-secret',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: baseRedirects,
      token_endpoint_auth_method: 'client_secret_basic',
      require_pushed_authorization_requests: true,
    },
    {
      client_id: 'service-client',
      client_secret: 'service-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'kong-public',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: baseRedirects,
      token_endpoint_auth_method: 'none',
    },
    {
      client_id: 'kong-jwt',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials', 'password'],
      response_types: ['code'],
      redirect_uris: baseRedirects,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      jwks: { keys: [clientPublicJwk] },
    },
    {
      client_id: 'kong-secret-jwt',
      client_secret: secretJwtSecret,
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials', 'password'],
      response_types: ['code'],
      redirect_uris: baseRedirects,
      token_endpoint_auth_method: 'client_secret_jwt',
      token_endpoint_auth_signing_alg: 'HS256',
    },
    {
      // RFC 8705 §3: its access tokens are bound to the TLS client certificate of the token request.
      client_id: 'kong-mtls',
      client_secret: 'kong-mtls-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      tls_client_certificate_bound_access_tokens: true,
    },
    ...(opts.clients ?? []),
  ];
  const basicClients = new Set(
    clients
      .filter((c) => (c.token_endpoint_auth_method ?? 'client_secret_basic') === 'client_secret_basic' && typeof c.client_secret === 'string')
      .map((c) => String(c.client_id)),
  );

  const adapter = createMemoryAdapter(5);
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 20_000 });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  let port = await listen(server, opts.port ?? 0, host, 'IdP');
  const origin = `http://${hostForUrl(host)}:${port}`;
  const issuer = `${origin}${prefix}`;
  const minter = new AccessTokenMinter(issuer, keys);

  const claimOverrides = new WeakMap<object, Record<string, unknown>>();
  let provider: Provider;
  const current = (): Provider => provider;
  const mod = await loadOidcProvider();
  const build = (): Provider => buildProvider(mod, {
    issuer, realm, keys, minter, adapter, cookieKeys, clients, accessTokenTtl, log, current, claimOverrides, requirePar: opts.requirePar ?? false,
  });
  provider = build();
  const watch = (p: Provider): void => {
    p.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId: string }) => {
      log?.warn({ client: client.clientId, err: err.message }, 'demo IdP: back-channel logout failed');
    });
  };
  watch(provider);
  let handler = provider.callback();

  let down: false | 'http-503' | 'refuse' = false;
  const counts = new Map<string, number>();
  let total = 0;
  const interactionBase = `${prefix}${INTERACTION_BASE}`;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const rel = path.startsWith(prefix) ? path.slice(prefix.length) || '/' : path;
    total++;
    counts.set(rel, (counts.get(rel) ?? 0) + 1);
    if (down !== false) {
      sendUnavailable(res);
      return;
    }
    if (path !== prefix && !path.startsWith(`${prefix}/`)) {
      const body = JSON.stringify({ error: 'Realm does not exist' });
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      return;
    }
    const run = async (): Promise<void> => {
      if (await handleInteraction(req, res, path, { provider: current, realm, base: interactionBase, log })) return;
      const forwarded = await translateRequest(req, rel, { minter, routes: ROUTES, basicClients });
      // The provider's routes are relative to the issuer's path (koa-mount style).
      forwarded.url = `${rel}${q === -1 ? '' : url.slice(q)}`;
      (forwarded as IncomingMessage & { originalUrl?: string }).originalUrl = url;
      handler(forwarded, res);
    };
    run().catch((err: unknown) => {
      log?.error({ err }, 'idp request failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'server_error' }));
      } else {
        res.destroy();
      }
    });
  };
  server.on('request', onRequest);

  // The mutual-TLS listener: the same realm, clients asked for a certificate (never required or verified
  // here: binding the token to it is the point, RFC 8705 §3). oidc-provider reads it (features.mTLS).
  let mtlsServer: HttpsServer | null = null;
  let mtlsTokenEndpoint: string | null = null;
  if (opts.mtlsPort !== undefined) {
    const pem = await defaultCertificate();
    mtlsServer = createHttpsServer({ cert: pem.cert, key: pem.key, requestCert: true, rejectUnauthorized: false, requestTimeout: 30_000, headersTimeout: 20_000 });
    mtlsServer.on('request', onRequest);
    const mtlsPort = await listen(mtlsServer, opts.mtlsPort, host, 'IdP (mTLS)');
    mtlsTokenEndpoint = `https://${hostForUrl(host)}:${mtlsPort}${prefix}${ROUTES.token}`;
  }

  const rebuild = (): void => {
    provider = build();
    handler = provider.callback();
  };

  const endpoints = {
    authorization: `${issuer}${ROUTES.authorization}`,
    token: `${issuer}${ROUTES.token}`,
    introspection: `${issuer}${ROUTES.introspection}`,
    revocation: `${issuer}${ROUTES.revocation}`,
    userinfo: `${issuer}${ROUTES.userinfo}`,
    end_session: `${issuer}${ROUTES.end_session}`,
    jwks: `${issuer}${ROUTES.jwks}`,
    par: `${issuer}${ROUTES.pushed_authorization_request}`,
  };

  async function issueAccessToken(o: IssueAccessTokenOptions = {}): Promise<string> {
    const clientId = o.clientId ?? 'kong';
    const user = o.username === undefined ? undefined : realm.findByUsername(o.username);
    if (o.username !== undefined && user === undefined) throw new Error(`unknown demo user ${o.username}`);
    const expiresIn = o.expiresIn ?? accessTokenTtl;
    const now = Math.floor(Date.now() / 1000);
    const sid = user === undefined ? undefined : randomUUID();
    const claims: Record<string, unknown> = {
      ...keycloakAccessTokenClaims({ clientId, scope: o.scope ?? 'openid', user, sid, sub: o.sub }),
      iat: now,
      exp: now + expiresIn,
    };
    if (o.sub !== undefined) claims.sub = o.sub;
    if (o.aud !== undefined) claims.aud = o.aud;
    Object.assign(claims, o.extraClaims);

    let opaque: string | undefined;
    if (expiresIn > 0) {
      // Back the JWT with a real provider token so introspection, userinfo
      // and revocation treat it like any token the IdP issued.
      const p = provider;
      const client = await p.Client.find(clientId);
      if (client === undefined) throw new Error(`unknown client ${clientId}`);
      const accountId = user?.id;
      if (accountId !== undefined) {
        const grant = new p.Grant({ accountId, clientId });
        grant.addOIDCScope(o.scope ?? 'openid');
        const grantId = await grant.save();
        const at = new p.AccessToken({ accountId, client, grantId, gty: 'password', scope: o.scope ?? 'openid', sid, expiresIn });
        // The stored claims (what introspection reports) are exactly the JWT's.
        claimOverrides.set(at, claims);
        opaque = await at.save();
      } else {
        const cc = new p.ClientCredentials({ client, scope: o.scope, expiresIn });
        claimOverrides.set(cc, claims);
        opaque = await cc.save();
      }
    }
    return minter.mint(claims, opaque);
  }

  async function setDown(value: boolean, mode: 'http-503' | 'refuse' = 'http-503'): Promise<void> {
    if (!value) {
      if (down === 'refuse') port = await listen(server, port, host, 'IdP');
      down = false;
      return;
    }
    if (down !== false) return;
    down = mode;
    if (mode === 'refuse') {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    }
    // 'http-503': keep-alive connections stay; each answer carries `Connection: close`.
  }

  log?.info({ issuer }, 'demo IdP listening');

  return {
    issuer,
    port,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    endpoints,
    mtlsTokenEndpoint,
    testClients: {
      publicClient: { client_id: 'kong-public' },
      privateKeyJwt: { client_id: 'kong-jwt', privateJwk: clientPrivateJwk, alg: 'RS256' },
      clientSecretJwt: { client_id: 'kong-secret-jwt', client_secret: secretJwtSecret },
    },
    currentKid: () => keys.current.kid,
    async rotateSigningKey() {
      await keys.rotate();
      rebuild();
      log?.info({ kid: keys.current.kid }, 'demo IdP rotated its signing key');
    },
    async dropOldKeys() {
      keys.dropOld();
      rebuild();
    },
    setDown,
    requestCount: (path?: string) => (path === undefined ? total : counts.get(path) ?? 0),
    issueAccessToken,
    async close() {
      if (mtlsServer !== null) {
        const m = mtlsServer;
        await new Promise<void>((resolve) => {
          m.close(() => resolve());
          m.closeAllConnections();
        });
      }
      if (down === 'refuse') return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Demo credentials, for banners and docs. */
export const DEMO_USERS = [
  { username: 'Blog_with_scope', password: DEMO_PASSWORD, note: 'has kong_api_access → reaches the upstream' },
  { username: 'Blog_without_scope', password: DEMO_PASSWORD, note: 'lacks kong_api_access → 403' },
] as const;
