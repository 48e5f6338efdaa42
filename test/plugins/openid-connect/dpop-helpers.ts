/**
 * DPoP (RFC 9449) client side for tests: a key pair, DPoP-bound tokens from
 * the demo IdP's token endpoint (client_credentials with a proof), and proofs
 * for gateway requests — honest or forged field by field.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { Idp } from '../../helpers/idp.ts';

export interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
  alg: 'ES256';
}

export async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: await exportJWK(publicKey), alg: 'ES256' };
}

export interface ProofOptions {
  htm?: string;
  htu?: string;
  /** Access token whose hash goes into `ath` (null: no ath). */
  token?: string | null;
  iat?: number;
  jti?: string;
  nonce?: string;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Sign with this key instead (the header still carries `key.jwk` unless overridden). */
  signWith?: DpopKey;
}

export async function proof(key: DpopKey, o: ProofOptions = {}): Promise<string> {
  const payload: Record<string, unknown> = {
    jti: o.jti ?? randomUUID(),
    htm: o.htm ?? 'GET',
    htu: o.htu,
    iat: o.iat ?? Math.floor(Date.now() / 1000),
    ...(o.token ? { ath: createHash('sha256').update(o.token).digest('base64url') } : {}),
    ...(o.nonce !== undefined ? { nonce: o.nonce } : {}),
    ...o.claims,
  };
  const signer = o.signWith ?? key;
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk, ...o.header } as { alg: string }).sign(signer.privateKey);
}

/** A DPoP-bound access token from the demo IdP (client_credentials, client kong). */
export async function boundToken(idp: Idp, key: DpopKey): Promise<string> {
  const res = await fetch(idp.endpoints.token, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('kong:kong-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await proof(key, { htm: 'POST', htu: idp.endpoints.token, token: null }),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200 || body.token_type !== 'DPoP' || typeof body.access_token !== 'string') throw new Error(`DPoP token request failed: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
