/**
 * src/plugins/openid-connect/pop/jws.ts against jose: every proof jose signs
 * with an allowed algorithm verifies, and every proof jose's jwtVerify refused
 * (wrong key, wrong curve, short RSA key, `crit`, tampered bytes, expired or
 * not-yet-valid claims, a payload that is not an object) is refused too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { SignJWT, CompactSign, decodeProtectedHeader } from 'jose';
import { verifyProof } from '../../../src/plugins/openid-connect/pop/jws.ts';

const NOW = 1_800_000_000;
const claims = { htm: 'GET', htu: 'https://api.example/r', iat: NOW, jti: 'j1' };

function pair(alg: string): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ES384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'ES512':
      return generateKeyPairSync('ec', { namedCurve: 'P-521' });
    case 'EdDSA':
    case 'Ed25519':
      return generateKeyPairSync('ed25519');
    default:
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}

async function proof(alg: string, key: KeyObject, header: Record<string, unknown> = {}, payload: Record<string, unknown> = claims): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'dpop+jwt', ...header } as { alg: string }).sign(key);
}

/** As checkDpop calls it: a proof whose header does not decode never reaches verifyProof. */
function check(p: string, key: KeyObject): Record<string, unknown> | null {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(p) as Record<string, unknown>;
  } catch {
    return verifyProof(p, { alg: 'ES256', typ: 'dpop+jwt' }, key, NOW); // the bytes alone must not pass either
  }
  return verifyProof(p, header, key, NOW);
}

test('every allowed algorithm: a proof signed with it verifies and yields its claims', async () => {
  for (const alg of ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519']) {
    const { privateKey, publicKey } = pair(alg);
    const p = await proof(alg, privateKey);
    assert.deepEqual(check(p, publicKey), claims, alg);
    // The same bytes with another key of the same kind: refused.
    assert.equal(check(p, pair(alg).publicKey), null, `${alg} with another key`);
  }
});

test('a key that does not fit the algorithm is refused: wrong curve, RSA under 2048 bits, EC key for RS256, RSA key for EdDSA', async () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  // An ES256 header over a P-384 signature: refused before and regardless of the signature.
  const asEs256 = await new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES384', typ: 'dpop+jwt' }).sign(p384.privateKey);
  const forged = asEs256.replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt' })).toString('base64url'));
  assert.equal(check(forged, p384.publicKey), null);
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const input = `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'dpop+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const smallProof = `${input}.${sign('sha256', Buffer.from(input), small.privateKey).toString('base64url')}`;
  assert.equal(check(smallProof, small.publicKey), null, 'RSA 1024');
  const ec = pair('ES256');
  assert.equal(check(await proof('RS256', pair('RS256').privateKey), ec.publicKey), null, 'RS256 with an EC key');
  assert.equal(check(await proof('EdDSA', pair('EdDSA').privateKey), pair('RS256').publicKey), null, 'EdDSA with an RSA key');
});

test('a crit header, tampered bytes, a non-base64url character, a truncated signature, an alg outside the list: refused', async () => {
  const { privateKey, publicKey } = pair('ES256');
  // jose will not sign an unknown crit; node:crypto will.
  const critInput = `${Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt', crit: ['x-ext'], 'x-ext': 1 })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const critProof = `${critInput}.${sign('sha256', Buffer.from(critInput), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  const critHeaderless = critProof.replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt' })).toString('base64url'));
  assert.equal(check(critHeaderless, publicKey), null, 'the signature covers the header');
  assert.equal(check(critProof, publicKey), null, 'crit');
  const good = await proof('ES256', privateKey);
  assert.notEqual(check(good, publicKey), null);
  const [h, pl, s] = good.split('.') as [string, string, string];
  const otherPayload = Buffer.from(JSON.stringify({ ...claims, htm: 'POST' })).toString('base64url');
  assert.equal(check(`${h}.${otherPayload}.${s}`, publicKey), null, 'payload swapped');
  assert.equal(check(`${h}.${pl}.${s}!`, publicKey), null, 'junk after the signature');
  assert.equal(check(`${h}.${pl}.${s.slice(0, -4)}`, publicKey), null, 'short signature');
  assert.equal(check(`${h}.${pl}`, publicKey), null, 'two segments');
  assert.equal(check(`${good}.x`, publicKey), null, 'four segments');
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt' })).toString('base64url')}.${pl}.`;
  assert.equal(check(none, publicKey), null, 'alg none');
  const hs = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'dpop+jwt' })).toString('base64url')}.${pl}.${s}`;
  assert.equal(check(hs, publicKey), null, 'alg HS256');
});

test('JWT time claims as jwtVerify checks them: exp passed or nbf ahead refused, a non-number iat refused, a non-object payload refused', async () => {
  const { privateKey, publicKey } = pair('ES256');
  assert.equal(check(await proof('ES256', privateKey, {}, { ...claims, exp: NOW }), publicKey), null, 'exp = now');
  assert.notEqual(check(await proof('ES256', privateKey, {}, { ...claims, exp: NOW + 1 }), publicKey), null, 'exp ahead');
  assert.equal(check(await proof('ES256', privateKey, {}, { ...claims, nbf: NOW + 1 }), publicKey), null, 'nbf ahead');
  assert.notEqual(check(await proof('ES256', privateKey, {}, { ...claims, nbf: NOW }), publicKey), null, 'nbf now');
  assert.equal(check(await proof('ES256', privateKey, {}, { ...claims, iat: String(NOW) }), publicKey), null, 'iat a string');
  const arr = await new CompactSign(Buffer.from('[1,2]')).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt' }).sign(privateKey);
  assert.equal(check(arr, publicKey), null, 'array payload');
  const notJson = await new CompactSign(Buffer.from('not json')).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt' }).sign(privateKey);
  assert.equal(check(notJson, publicKey), null, 'payload not JSON');
});
