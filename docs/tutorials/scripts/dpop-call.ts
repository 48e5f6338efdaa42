/**
 * Tutorial 6: a DPoP client in a few lines (jose). Gets a DPoP-bound token
 * from the demo IdP (client credentials, client kong), calls the gateway with
 * a fresh proof, then replays that proof once.
 *
 *   npx node docs/tutorials/scripts/dpop-call.ts [gateway URL] [IdP issuer]
 */
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const url = process.argv[2] ?? 'http://127.0.0.1:8000/dpop';
const issuer = process.argv[3] ?? 'http://127.0.0.1:9000/realms/demo';
const tokenEndpoint = `${issuer}/protocol/openid-connect/token`;

// 1. The client's key pair: the token will be bound to it.
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = await exportJWK(publicKey);
const proof = (htm: string, htu: string, accessToken?: string): Promise<string> =>
  new SignJWT({
    jti: randomUUID(),
    htm,
    htu,
    iat: Math.floor(Date.now() / 1000),
    ...(accessToken ? { ath: createHash('sha256').update(accessToken).digest('base64url') } : {}),
  }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).sign(privateKey);

// 2. A DPoP-bound token: the token request carries a proof for the token endpoint.
const tokenRes = await fetch(tokenEndpoint, {
  method: 'POST',
  headers: {
    authorization: `Basic ${Buffer.from('kong:kong-secret').toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
    dpop: await proof('POST', tokenEndpoint),
  },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }),
});
const { access_token: token, token_type: tokenType } = (await tokenRes.json()) as { access_token: string; token_type: string };
console.log(`token_type: ${tokenType}`);

// 3. Call the API: Authorization: DPoP <token>, and a proof for this method and URL.
const p = await proof('GET', url, token);
const first = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: p } });
console.log(`with a fresh proof: ${first.status}`);

// 4. The same proof again (a thief who copied both headers): refused.
const replay = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: p } });
console.log(`replayed proof: ${replay.status} ${replay.headers.get('www-authenticate')}`);

// 5. The token alone, as a bearer token: refused.
const bearer = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
console.log(`as a bearer token: ${bearer.status}`);
