/**
 * Request rewriting in front of oidc-provider, so the demo IdP accepts what a
 * Keycloak realm accepts:
 *
 * 1. A JWT access token presented at the introspection (RFC 7662 §2.1 `token`),
 *    revocation (RFC 7009 §2.1 `token`) or userinfo (RFC 6750 §2.1 header /
 *    §2.2 body) endpoint is replaced by the opaque token it aliases (see
 *    access-tokens.ts). A JWT we cannot resolve becomes an unknown opaque
 *    value, so the provider answers exactly as for any unknown token
 *    (`active: false`, 200 on revocation, `invalid_token` at userinfo).
 * 2. Confidential clients registered with `client_secret_basic` may also send
 *    their credentials in the body (`client_secret_post`, RFC 6749 §2.3.1),
 *    as Keycloak's "Client Id and Secret" authenticator allows: the body
 *    credentials are moved into an `Authorization: Basic` header.
 *
 * The rewritten request is a thin object layered over the real IncomingMessage
 * (prototype chain) with new headers and a replayable body.
 */
import { Buffer } from 'node:buffer';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { AccessTokenMinter } from './access-tokens.ts';

/** oidc-provider refuses bodies over 56 KiB; we read at most that much. */
const BODY_LIMIT = 56 * 1024;

export interface TranslationRoutes {
  token: string;
  introspection: string;
  revocation: string;
  userinfo: string;
}

export interface TranslationDeps {
  minter: AccessTokenMinter;
  routes: TranslationRoutes;
  /** Clients registered as client_secret_basic that may also use client_secret_post. */
  basicClients: ReadonlySet<string>;
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function derive(req: IncomingMessage, headers: IncomingHttpHeaders, body: Buffer | null): IncomingMessage {
  const derived = Object.create(req) as IncomingMessage;
  Object.defineProperty(derived, 'headers', { value: headers, enumerable: true, writable: true });
  if (body !== null) {
    Object.defineProperty(derived, 'readable', { value: true });
    Object.defineProperty(derived, 'readableEncoding', { value: null });
    Object.defineProperty(derived, 'iterator', {
      value: async function* replay(): AsyncGenerator<Buffer> {
        yield body;
      },
    });
  }
  return derived;
}

function unknownToken(): string {
  return `unknown-${randomBytes(16).toString('base64url')}`;
}

async function translateToken(minter: AccessTokenMinter, value: string): Promise<string> {
  if (!AccessTokenMinter.looksLikeJwt(value)) return value;
  return (await minter.resolve(value)) ?? unknownToken();
}

/**
 * Returns the request to hand to the provider: `req` itself when nothing needs
 * rewriting, otherwise a derived request. `path` is relative to the issuer.
 */
export async function translateRequest(req: IncomingMessage, path: string, deps: TranslationDeps): Promise<IncomingMessage> {
  const { routes, minter } = deps;
  const isUserinfo = path === routes.userinfo;
  const isTokenish = path === routes.token || path === routes.introspection || path === routes.revocation;
  if (!isUserinfo && !isTokenish) return req;

  const headers: IncomingHttpHeaders = { ...req.headers };
  let changed = false;

  if (isUserinfo) {
    const auth = headers.authorization;
    if (typeof auth === 'string' && /^bearer /i.test(auth)) {
      const value = auth.slice(7).trim();
      const translated = await translateToken(minter, value);
      if (translated !== value) {
        headers.authorization = `Bearer ${translated}`;
        changed = true;
      }
    }
  }

  const isForm = req.method === 'POST' && /^application\/x-www-form-urlencoded\b/i.test(headers['content-type'] ?? '');
  if (!isForm) return changed ? derive(req, headers, null) : req;

  const raw = await readBody(req);
  if (raw === null) {
    // Too large: let the provider see an empty body of the declared type; it rejects it.
    return derive(req, { ...headers, 'content-length': '0' }, Buffer.alloc(0));
  }
  const form = new URLSearchParams(raw.toString('utf8'));

  if (isUserinfo) {
    const at = form.get('access_token');
    if (at !== null) form.set('access_token', await translateToken(minter, at));
  } else if (path !== routes.token) {
    const token = form.get('token');
    if (token !== null) form.set('token', await translateToken(minter, token));
  }

  // client_secret_post → client_secret_basic for clients registered as basic.
  const clientId = form.get('client_id');
  const clientSecret = form.get('client_secret');
  if (
    isTokenish && clientId !== null && clientSecret !== null && headers.authorization === undefined
    && deps.basicClients.has(clientId) && form.getAll('client_id').length === 1
  ) {
    // RFC 6749 §2.3.1: each part form-urlencoded before base64.
    const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
    form.delete('client_id');
    form.delete('client_secret');
  }

  const body = Buffer.from(form.toString(), 'utf8');
  headers['content-length'] = String(body.length);
  delete headers['transfer-encoding'];
  return derive(req, headers, body);
}
