/**
 * The local OpenID Provider for the OIDC scenarios (src/dev/idp.ts, a real
 * oidc-provider shaped like Kong's Keycloak walkthrough), started in the
 * harness process: it serves discovery, the JWKS, the login page, the token
 * and introspection endpoints, and mints the bearer tokens the load
 * generator sends. It is off the hot path except where a scenario measures
 * it (introspection cache misses).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startIdp, DEMO_PASSWORD, type Idp } from '../../src/dev/idp.ts';

export interface BenchIdp {
  idp: Idp;
  issuer: string;
  jwksUri: string;
  introspectionUrl: string;
  discoveryUrl: string;
  username: string;
  password: string;
  clientId: string;
  clientSecret: string;
  /** The scope every bench route requires (`scopes_required`, `Require claim scope`). */
  requiredScope: string;
  /** One valid RS256 access token (scenario b, repeated). */
  oneToken: string;
  /** Distinct valid access tokens (scenario b rotated). */
  manyTokens(count: number): Promise<string[]>;
  /**
   * Tokens for the introspection scenario, issued fresh on first use (then
   * the same list for every system): the IdP answers `active: false` for
   * tokens its in-memory store (oidc-provider's 1,000-entry LRU) has evicted,
   * so they must be recent and few enough to stay in it.
   */
  introspectionTokens(): Promise<string[]>;
  /**
   * The IdP behind a TLS front (self-signed, for peers that only fetch keys
   * over https: mod_auth_openidc's OIDCOAuthVerifyJwksUri). Same paths.
   */
  httpsBase(): Promise<string>;
  close(): Promise<void>;
}

/** Distinct tokens rotated in the introspection scenario (see introspectionTokens). */
export const INTROSPECTION_TOKENS = 250;

/** Tokens outlive any run (a soak included): the bench measures validation, not expiry. */
const TOKEN_TTL_S = 8 * 3600;

/** A self-signed certificate for 127.0.0.1, made with the openssl command line (Node has no X.509 writer). */
function selfSigned(dir: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, 'idp-tls.key');
  const cert = join(dir, 'idp-tls.crt');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) throw new Error(`openssl could not make a certificate for the IdP's TLS front: ${r.error?.message ?? r.stderr}`);
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** https://127.0.0.1:PORT → the IdP's plain-http listener (every method, path and header passed through). */
async function startTlsFront(dir: string, idpPort: number): Promise<{ base: string; close(): Promise<void> }> {
  const server = createHttpsServer(selfSigned(dir), (req, res) => {
    const up = httpRequest({ host: '127.0.0.1', port: idpPort, method: req.method, path: req.url, headers: req.headers }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export async function startBenchIdp(tmp: string): Promise<BenchIdp> {
  const idp = await startIdp({ host: '127.0.0.1', port: 0, accessTokenTtl: TOKEN_TTL_S });
  let tls: Promise<{ base: string; close(): Promise<void> }> | null = null;
  const issue = (): Promise<string> => idp.issueAccessToken({ username: 'Blog_with_scope', scope: 'openid profile email kong_api_access' });
  const oneToken = await issue();
  const many: string[] = [];
  let introspection: Promise<string[]> | null = null;
  return {
    idp,
    issuer: idp.issuer,
    jwksUri: idp.endpoints.jwks,
    introspectionUrl: idp.endpoints.introspection,
    discoveryUrl: idp.discoveryUrl,
    username: 'Blog_with_scope',
    password: DEMO_PASSWORD,
    clientId: 'kong',
    clientSecret: 'kong-secret',
    requiredScope: 'kong_api_access',
    oneToken,
    async manyTokens(count: number): Promise<string[]> {
      while (many.length < count) many.push(await issue());
      return many.slice(0, count);
    },
    introspectionTokens: () => {
      introspection ??= (async () => {
        const list: string[] = [];
        while (list.length < INTROSPECTION_TOKENS) list.push(await issue());
        return list;
      })();
      return introspection;
    },
    httpsBase: async () => {
      tls ??= startTlsFront(tmp, idp.port);
      return (await tls).base;
    },
    async close() {
      if (tls !== null) await (await tls).close();
      await idp.close();
    },
  };
}
