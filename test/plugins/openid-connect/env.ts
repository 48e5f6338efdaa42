/**
 * Shared setup for the openid-connect suites: a real OpenID Provider
 * (oidc-provider, Keycloak-shaped realm), a real echo upstream and a whole
 * gateway in this process, all on 127.0.0.1 port 0.
 */
import { startGateway, type TestGateway, type TestGatewayOptions } from '../../helpers/gateway.ts';
import { startIdp, type Idp, type StartIdpOptions } from '../../helpers/idp.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';

export interface OidcEnv {
  idp: Idp;
  echo: Echo;
  gw: TestGateway;
  /** Create service + route `/<name>` + openid-connect plugin with `config` (issuer filled in). Returns the plugin id. */
  protect(name: string, config: Record<string, unknown>, route?: Record<string, unknown>): Promise<string>;
  /** GET/… through the proxy; JSON-parses echo replies. */
  call(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  close(): Promise<void>;
}

let counter = 0;

export async function startOidcEnv(opts: { idp?: StartIdpOptions; gateway?: TestGatewayOptions } = {}): Promise<OidcEnv> {
  const [idp, echo, gw] = await Promise.all([startIdp(opts.idp), startEcho(), startGateway({ logLevel: 'debug', ...opts.gateway })]);
  const env: OidcEnv = {
    idp,
    echo,
    gw,
    async protect(name, config, route = {}) {
      const svc = `svc-${name}-${++counter}`;
      let r = await gw.admin('POST', '/services', { name: svc, url: `${echo.url}/anything` });
      if (r.status !== 201) throw new Error(`service: ${r.status} ${JSON.stringify(r.body)}`);
      r = await gw.admin('POST', `/services/${svc}/routes`, { name: `route-${name}`, paths: [`/${name}`], ...route });
      if (r.status !== 201) throw new Error(`route: ${r.status} ${JSON.stringify(r.body)}`);
      r = await gw.admin('POST', `/routes/route-${name}/plugins`, { name: 'openid-connect', config: { issuer: idp.issuer, ...config } });
      if (r.status !== 201) throw new Error(`plugin: ${r.status} ${JSON.stringify(r.body)}`);
      await gw.settle();
      return (r.body as { id: string }).id;
    },
    async call(path, init) {
      const res = await fetch(gw.proxyUrl + path, { redirect: 'manual', ...init });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, headers: res.headers, body, text };
    },
    async close() {
      await gw.close();
      await Promise.all([idp.close(), echo.close()]);
    },
  };
  return env;
}

export type { EchoReply };

/** Basic credentials header value. */
export function basic(id: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
}
