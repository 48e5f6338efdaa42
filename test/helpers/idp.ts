/**
 * The shared OpenID Provider fixture for tests: the demo IdP (src/dev/idp.ts)
 * on 127.0.0.1, port 0 unless told otherwise. Always `await idp.close()`.
 */
import { startIdp as startDevIdp, type Idp, type StartIdpOptions } from '../../src/dev/idp.ts';

export type { Idp, StartIdpOptions, IssueAccessTokenOptions, TestClients } from '../../src/dev/idp.ts';
export { DEMO_PASSWORD, DEMO_USERS } from '../../src/dev/idp.ts';

export function startIdp(opts: StartIdpOptions = {}): Promise<Idp> {
  return startDevIdp({ host: '127.0.0.1', port: 0, ...opts });
}

/** Resource-owner password grant against the IdP with client `kong` (as Kong's walkthrough does with httpie). */
export async function passwordGrant(
  idp: Idp,
  username: string,
  password: string,
  opts: { scope?: string; clientId?: string; clientSecret?: string } = {},
): Promise<{ access_token: string; refresh_token?: string; id_token?: string; expires_in: number; scope?: string; token_type: string }> {
  const clientId = opts.clientId ?? 'kong';
  const clientSecret = opts.clientSecret ?? 'kong-secret';
  const res = await fetch(idp.endpoints.token, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'password', username, password, scope: opts.scope ?? 'openid' }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200 || typeof body.access_token !== 'string') {
    throw new Error(`password grant failed: ${res.status} ${JSON.stringify(body)}`);
  }
  return body as unknown as Awaited<ReturnType<typeof passwordGrant>>;
}

/** Decodes a JWT's payload without verifying it (assertions only). */
export function decodeJwtPayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1];
  if (part === undefined) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
