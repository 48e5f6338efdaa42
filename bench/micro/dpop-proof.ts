/**
 * CPU cost of checking one DPoP proof (issue 17: "the proof check must stay
 * cheap"), one process, the pieces of src/plugins/openid-connect/pop/dpop.ts
 * timed separately and the whole check:
 *
 * - ES256 signature alone (crypto.verify on the prepared bytes): the floor;
 * - verifyProof (split, base64url checks, key fit, verify, payload parse);
 * - checkDpop with the node-wide replay check as configured (every proof new).
 *
 *   node bench/micro/dpop-proof.ts [--time 1500]
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, hash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchAsync, benchSync, consume, printResults } from './harness.ts';

process.env.PORTCULLIS_NODE_STATE_DIR ??= mkdtempSync(join(tmpdir(), 'dpop-micro-'));
const { checkDpop, compileDpop } = await import('../../src/plugins/openid-connect/pop/dpop.ts');
const { verifyProof } = await import('../../src/plugins/openid-connect/pop/jws.ts');
const { ReplayCache } = await import('../../src/plugins/openid-connect/pop/replay.ts');

const i = process.argv.indexOf('--time');
const minMs = i === -1 ? 1500 : Number(process.argv[i + 1]);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = publicKey.export({ format: 'jwk' });
const jkt = hash('sha256', JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }), 'base64url');
const token = `eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'x', cnf: { jkt } })).toString('base64url')}.sig`;
const url = 'http://127.0.0.1:8000/dpop';
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const header = b64({ alg: 'ES256', typ: 'dpop+jwt', jwk });
const now = Math.floor(Date.now() / 1000);
const proofs: string[] = [];
for (let k = 0; k < 200_000; k++) {
  const input = `${header}.${b64({ jti: randomUUID(), htm: 'GET', htu: url, iat: now, ath: hash('sha256', token, 'base64url') })}`;
  proofs.push(`${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`);
}
void createPrivateKey;
const key = createPublicKey({ key: jwk, format: 'jwk' });
const first = proofs[0]!;
const input0 = Buffer.from(first.slice(0, first.lastIndexOf('.')));
const sig0 = Buffer.from(first.slice(first.lastIndexOf('.') + 1), 'base64url');
const hdr = { alg: 'ES256', typ: 'dpop+jwt', jwk };
const claims = { sub: 'x', cnf: { jkt } };
const ctxFor = (p: string): never => ({ method: 'GET', req: { rawHeaders: ['Host', '127.0.0.1:8000', 'Authorization', `DPoP ${token}`, 'DPoP', p] } }) as never;

let n = 0;
const policy = compileDpop({ proof_of_possession_dpop: 'strict', dpop_proof_lifetime: 300, dpop_use_nonce: false, leeway: 0 }, 'x'.repeat(32), new ReplayCache('dpop', null));
const results = [
  benchSync('ES256 crypto.verify alone', () => consume(verify('sha256', input0, { key, dsaEncoding: 'ieee-p1363' }, sig0)), { minMs }),
  benchSync('verifyProof (JWS checks + verify + payload)', (k) => consume(verifyProof(proofs[k % proofs.length]!, hdr, key, now)), { minMs }),
  await benchAsync('checkDpop, whole (node-wide jti check)', async () => { await checkDpop(ctxFor(proofs[n++ % proofs.length]!), policy!, token, claims, true, url, now); }, { minMs }),
];
printResults('DPoP proof check, one process', results);
