/**
 * Bearer-token verification costs, per request:
 *   - RS256 signature check alone (node:crypto.verify, the floor),
 *   - jose jwtVerify with an already imported key (what a gateway without a
 *     verified-token cache pays on every request: scenario (b) rotated),
 *   - a verified-token cache hit as the openid-connect plugin does it
 *     (SHA-256 cache key + bounded LRU lookup: scenario (b) repeated).
 *
 *   node bench/micro/jwt-verify.ts [--json]
 */
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { cacheKey, caches } from '../../src/plugins/openid-connect/cache.ts';
import { benchAsync, benchSync, printResults, type MicroResult } from './harness.ts';

export async function runJwtVerify(minMs = 1000): Promise<MicroResult[]> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const issuer = 'http://127.0.0.1:9000/realms/demo';
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < 1000; i++) {
    tokens.push(
      await new SignJWT({ scope: 'openid profile email kong_api_access', azp: 'kong', preferred_username: 'blog_with_scope', jti: `t${i}` })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(['kong', 'account'])
        .setSubject('4a7e9a5c-2d1b-4c0e-9a53-6f1f1d0b7c11')
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(privateKey),
    );
  }
  const key = createPublicKey(publicKey.export({ format: 'pem', type: 'spki' }));
  const parts = tokens.map((t) => {
    const dot = t.lastIndexOf('.');
    return { input: Buffer.from(t.slice(0, dot)), sig: Buffer.from(t.slice(dot + 1), 'base64url') };
  });
  const results: MicroResult[] = [];
  results.push(benchSync('RS256 signature only (node:crypto.verify)', (i) => {
    const p = parts[i % parts.length]!;
    return verify('RSA-SHA256', p.input, key, p.sig);
  }, { minMs }));
  results.push(await benchAsync('jose jwtVerify, imported key (no token cache)', (i) => jwtVerify(tokens[i % tokens.length]!, key, { issuer, audience: 'kong', algorithms: ['RS256'] }), { minMs }));

  // The plugin's cache: verified once, then hash + lookup (src/plugins/openid-connect/validate/jwt.ts).
  const policyId = 'bench-policy';
  for (const t of tokens) {
    const { payload, protectedHeader } = await jwtVerify(t, key, { issuer, algorithms: ['RS256'] });
    caches.verifiedJwt.set(cacheKey('jwt', policyId, issuer, t), { ok: true, value: { header: protectedHeader, payload, jwk: null } }, 3_600_000);
  }
  results.push(benchSync('verified-token cache hit, 1 token (sha256 key + LRU get)', () => caches.verifiedJwt.get(cacheKey('jwt', policyId, issuer, tokens[0]!)), { minMs }));
  results.push(benchSync('verified-token cache hit, 1,000 tokens rotated', (i) => caches.verifiedJwt.get(cacheKey('jwt', policyId, issuer, tokens[i % tokens.length]!)), { minMs }));
  return results;
}

if (import.meta.main) {
  const results = await runJwtVerify();
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(results)}\n`);
  else printResults('JWT verification', results);
}
