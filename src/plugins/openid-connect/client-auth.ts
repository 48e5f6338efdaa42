/**
 * Client authentication at the token, introspection and revocation
 * endpoints:
 * - `client_secret_basic` — RFC 6749 §2.3.1, HTTP Basic with the
 *   form-urlencoded id and secret;
 * - `client_secret_post` — RFC 6749 §2.3.1, both in the form body;
 * - `client_secret_jwt` / `private_key_jwt` — RFC 7523 §2.2 with OIDC Core
 *   §9: a short-lived assertion (iss = sub = client_id, aud = the endpoint,
 *   jti, iat, exp) signed with the secret (HS*) or `client_jwk`;
 * - `none` — public client, `client_id` only.
 * With no method configured, Kong's default is `client_secret_basic`; when
 * the IdP does not advertise it but advertises `client_secret_post`, that is
 * used, and a client without a secret is public (`none`).
 */
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import type { ClientConfig } from './clients.ts';
import type { ClientAuthMethod } from './schema.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_LIFETIME_S = 60;

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B). */
function formEncode(v: string): string {
  return encodeURIComponent(v).replace(/%20/g, '+');
}

/** The method to use with `client` at an endpoint, given overrides and what the IdP advertises. */
export function chooseMethod(endpointOverride: ClientAuthMethod | null, client: ClientConfig, advertised: unknown): ClientAuthMethod {
  if (endpointOverride !== null) return endpointOverride;
  if (client.auth !== null) return client.auth;
  if (client.secret === null) return client.jwk !== null ? 'private_key_jwt' : 'none';
  if (Array.isArray(advertised) && advertised.length > 0 && !advertised.includes('client_secret_basic') && advertised.includes('client_secret_post')) {
    return 'client_secret_post';
  }
  return 'client_secret_basic';
}

const keyCache = new WeakMap<ClientConfig, Promise<Awaited<ReturnType<typeof importJWK>>>>();

async function assertion(method: 'client_secret_jwt' | 'private_key_jwt', client: ClientConfig, audience: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { jti: randomUUID() };
  const id = client.id ?? '';
  if (method === 'client_secret_jwt') {
    const alg = client.alg !== null && client.alg.startsWith('HS') ? client.alg : 'HS256';
    const secret = new TextEncoder().encode(client.secret ?? '');
    return new SignJWT(claims).setProtectedHeader({ alg }).setIssuer(id).setSubject(id).setAudience(audience).setIssuedAt(now).setExpirationTime(now + ASSERTION_LIFETIME_S).sign(secret);
  }
  const jwk = client.jwk as (JWK & { alg?: string; kid?: string }) | null;
  if (jwk === null) throw new Error('private_key_jwt needs client_jwk');
  const alg = client.alg ?? jwk.alg ?? 'RS256';
  let key = keyCache.get(client);
  if (key === undefined) {
    key = importJWK(jwk, alg);
    keyCache.set(client, key);
  }
  const header: { alg: string; kid?: string } = { alg };
  if (typeof jwk.kid === 'string') header.kid = jwk.kid;
  return new SignJWT(claims).setProtectedHeader(header).setIssuer(id).setSubject(id).setAudience(audience).setIssuedAt(now).setExpirationTime(now + ASSERTION_LIFETIME_S).sign(await key);
}

/**
 * How the gateway authenticates as a client at one endpoint: the method
 * (chosen once, see chooseMethod), the client, and the assertion audience
 * (the endpoint URL, RFC 7523 §3).
 */
export interface ClientAuth {
  readonly method: ClientAuthMethod;
  readonly client: ClientConfig;
  readonly audience: string;
}

/** The ClientAuth for `client` at `endpoint`, given the endpoint's override and what the IdP advertises. */
export function clientAuthAt(endpointOverride: ClientAuthMethod | null, client: ClientConfig, advertised: unknown, endpoint: string): ClientAuth {
  return { method: chooseMethod(endpointOverride, client, advertised), client, audience: endpoint };
}

/**
 * Add client authentication to a form request. `credentials` overrides the
 * client's id/secret (the client credentials grant forwards the caller's own).
 */
export async function authenticateClient(
  auth: ClientAuth,
  form: URLSearchParams,
  headers: Record<string, string>,
  credentials?: { id: string; secret: string },
): Promise<void> {
  const { method, client } = auth;
  const id = credentials?.id ?? client.id;
  const secret = credentials?.secret ?? client.secret;
  switch (method) {
    case 'client_secret_basic':
      if (id !== null && secret !== null) {
        headers.authorization = 'Basic ' + Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64');
      } else if (id !== null) form.set('client_id', id);
      return;
    case 'client_secret_post':
      if (id !== null) form.set('client_id', id);
      if (secret !== null) form.set('client_secret', secret);
      return;
    case 'client_secret_jwt':
    case 'private_key_jwt': {
      const effective: ClientConfig = credentials ? { ...client, id: credentials.id, secret: credentials.secret } : client;
      if (id !== null) form.set('client_id', id);
      form.set('client_assertion_type', ASSERTION_TYPE);
      form.set('client_assertion', await assertion(method, effective, auth.audience));
      return;
    }
    case 'none':
      if (id !== null) form.set('client_id', id);
      return;
    default:
      throw new Error(`client authentication method ${method} is not supported`);
  }
}
