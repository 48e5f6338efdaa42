/**
 * DPoP (RFC 9449): the access token is bound to a key the client holds
 * (`cnf.jkt`, the key's RFC 7638 thumbprint), and every request carries a
 * fresh proof — a JWT signed with that key — in the `DPoP` header.
 *
 * Kong's options: `proof_of_possession_dpop` `off` | `optional` (only tokens
 * with `cnf.jkt` are checked) | `strict` (every token must be DPoP-bound),
 * `dpop_proof_lifetime` (seconds a proof is accepted after its `iat`, or
 * after the nonce was issued with `dpop_use_nonce`), `dpop_use_nonce` (the
 * client must put a nonce the gateway issued — `DPoP-Nonce` header — in its
 * proof). Checks, in RFC 9449 §4.3 / §7.1 order:
 *
 *   one DPoP header, a compact JWS no larger than 8 KiB; `typ` dpop+jwt;
 *   `alg` asymmetric and in DPOP_ALGS; `jwk` a public key; signature valid;
 *   `jti` present and unseen (replay cache, per node and — with Redis — per
 *   cluster); `htm` = the request method; `htu` = the request URL without
 *   query and fragment (normalised); `iat` within the lifetime (and not in
 *   the future beyond `leeway`); `nonce` when required; `ath` = SHA-256 of the
 *   access token; the key's thumbprint = the token's `cnf.jkt`; the token
 *   sent with the DPoP scheme (a bound token sent as Bearer is refused).
 *
 * Every failure is a 401 with `WWW-Authenticate: DPoP realm=…,
 * error="invalid_dpop_proof" (or "invalid_token"), algs="…"` and 0 upstream
 * hits; a missing or stale nonce is `error="use_dpop_nonce"` with a fresh
 * `DPoP-Nonce` header (RFC 9449 §8, §9).
 */
import { Buffer } from 'node:buffer';
import { createHmac, createPublicKey, hash, hkdfSync, timingSafeEqual, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from 'jose';
import type { RequestContext } from '../../../core/context.ts';
import * as pdk from '../../../pdk/index.ts';
import { Rejection } from '../errors.ts';
import type { ReplayCache } from './replay.ts';
import { proofVerifier, verifyWith, type ProofVerifier } from './jws.ts';
import { confirmation } from './cnf.ts';

/** Asymmetric JWS algorithms accepted in proofs (RFC 9449 §4.3 step 5: never `none`, never a MAC). */
export const DPOP_ALGS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519'] as const;
const ALG_SET: ReadonlySet<string> = new Set(DPOP_ALGS);
const ALGS_PARAM = `, algs="${DPOP_ALGS.join(' ')}"`;
const MAX_PROOF_BYTES = 8192;

export type DpopMode = 'off' | 'optional' | 'strict';

export interface DpopPolicy {
  readonly mode: DpopMode;
  readonly lifetimeSec: number;
  readonly leewaySec: number;
  readonly useNonce: boolean;
  /** HMAC key of the stateless nonces (derived from the session secret: every node that shares it accepts them). */
  readonly nonceKey: Buffer;
  readonly replay: ReplayCache;
}

export function compileDpop(c: { proof_of_possession_dpop: string; dpop_proof_lifetime: number; dpop_use_nonce: boolean; leeway: number }, secret: string, replay: ReplayCache): DpopPolicy | null {
  if (c.proof_of_possession_dpop === 'off') return null;
  return Object.freeze({
    mode: c.proof_of_possession_dpop as DpopMode,
    lifetimeSec: c.dpop_proof_lifetime,
    leewaySec: c.leeway,
    useNonce: c.dpop_use_nonce,
    nonceKey: Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.from('portcullis dpop nonce'), Buffer.from('v1'), 32)),
    replay,
  });
}

function reject(error: 'invalid_dpop_proof' | 'invalid_token' | 'use_dpop_nonce', reason: string, headers: Record<string, string> | null = null): Rejection {
  return new Rejection(401, reason, reason, { scheme: 'DPoP', error, params: ALGS_PARAM, headers });
}

/** A nonce: base64url(issued-at seconds, 8 bytes BE ‖ first 16 bytes of HMAC-SHA256(key, those 8 bytes)). */
export function issueNonce(p: DpopPolicy, now: number): string {
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(now));
  return Buffer.concat([t, createHmac('sha256', p.nonceKey).update(t).digest().subarray(0, 16)]).toString('base64url');
}

/**
 * A client sends the same protected header (typ, alg, public key) with every
 * proof: its decoding, the key's import, the algorithm/key fit and the key's
 * RFC 7638 thumbprint are worked out once per header segment (bounded cache;
 * only headers that pass are kept, so hostile ones pay their own way).
 */
interface ProofHeader {
  readonly verifier: ProofVerifier | null;
  readonly jkt: string;
}
const headers = new Map<string, ProofHeader>();
const MAX_HEADERS = 4096;

async function proofHeader(segment: string, proof: string): Promise<ProofHeader> {
  const hit = headers.get(segment);
  if (hit !== undefined) return hit;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw reject('invalid_dpop_proof', 'DPoP proof is not a JWS');
  }
  if (header.typ !== 'dpop+jwt') throw reject('invalid_dpop_proof', 'DPoP proof typ is not dpop+jwt');
  if (typeof header.alg !== 'string' || !ALG_SET.has(header.alg)) throw reject('invalid_dpop_proof', 'DPoP proof alg is not allowed');
  if (header.jwk === undefined || typeof header.jwk !== 'object') throw reject('invalid_dpop_proof', 'DPoP proof has no jwk');
  const jwk = header.jwk as JWK;
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) throw reject('invalid_dpop_proof', 'DPoP proof jwk is not a public key');
  let key: KeyObject;
  let jkt: string;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    jkt = await calculateJwkThumbprint(jwk, 'sha256');
  } catch {
    throw reject('invalid_dpop_proof', 'DPoP proof jwk is not a usable public key');
  }
  if (key.type !== 'public') throw reject('invalid_dpop_proof', 'DPoP proof jwk is not a usable public key');
  const entry = { verifier: proofVerifier(header, key), jkt };
  if (headers.size >= MAX_HEADERS) headers.clear();
  headers.set(segment, entry);
  return entry;
}

/** The access token's RFC 9449 `ath` (SHA-256, base64url): a client sends one token with many proofs. */
const aths = new Map<string, string>();
const MAX_ATHS = 4096;

function athOf(token: string): string {
  let ath = aths.get(token);
  if (ath === undefined) {
    ath = hash('sha256', token, 'base64url');
    if (aths.size >= MAX_ATHS) aths.clear();
    aths.set(token, ath);
  }
  return ath;
}

/** When the nonce was issued, or null when it is not one of ours. */
function nonceTime(p: DpopPolicy, nonce: string): number | null {
  if (nonce.length !== 32) return null;
  const raw = Buffer.from(nonce, 'base64url');
  if (raw.length !== 24) return null;
  const t = raw.subarray(0, 8);
  const mac = createHmac('sha256', p.nonceKey).update(t).digest().subarray(0, 16);
  if (!timingSafeEqual(mac, raw.subarray(8))) return null;
  return Number(t.readBigUInt64BE());
}

/** RFC 9449 §4.3 step 9: compare without query and fragment, after syntax-based normalisation. */
function normalUrl(u: string): string | null {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return null;
  }
}

/**
 * Check the request's DPoP proof for `token` (claims: the verified or
 * introspected claims). `viaDpopScheme`: the token came as `Authorization:
 * DPoP`. `url`: the request URL as the client addressed it. Resolves when the
 * request may go on; throws a Rejection otherwise.
 */
export async function checkDpop(ctx: RequestContext, p: DpopPolicy, token: string, claims: Record<string, unknown> | null, viaDpopScheme: boolean, url: string, now: number): Promise<void> {
  const jkt = confirmation(claims, 'jkt');
  if (jkt === null) {
    if (p.mode === 'strict') throw reject('invalid_token', 'access token is not DPoP-bound (cnf.jkt missing)');
    if (viaDpopScheme) throw reject('invalid_token', 'access token sent with the DPoP scheme is not DPoP-bound');
    return; // optional: an unbound bearer token is not checked
  }
  if (!viaDpopScheme) throw reject('invalid_token', 'DPoP-bound access token was not sent with the DPoP authorization scheme');

  const values = pdk.request.getHeaderValues(ctx, 'dpop');
  if (values.length === 0) throw reject('invalid_dpop_proof', 'DPoP proof is missing');
  if (values.length > 1 || (values[0] as string).includes(',')) throw reject('invalid_dpop_proof', 'more than one DPoP proof');
  const proof = (values[0] as string).trim();
  if (proof.length > MAX_PROOF_BYTES) throw reject('invalid_dpop_proof', 'DPoP proof is too large');

  const dot = proof.indexOf('.');
  if (dot < 1) throw reject('invalid_dpop_proof', 'DPoP proof is not a JWS');
  const ph = await proofHeader(proof.slice(0, dot), proof);
  const payload = ph.verifier === null ? null : verifyWith(ph.verifier, proof, now);
  if (payload === null) throw reject('invalid_dpop_proof', 'DPoP proof signature is invalid');

  if (ph.jkt !== jkt) throw reject('invalid_token', 'DPoP proof key does not match the token binding (cnf.jkt)');
  if (payload.htm !== ctx.method) throw reject('invalid_dpop_proof', 'DPoP proof htm does not match the request method');
  // The same string needs no parsing (the usual case); otherwise both are normalised.
  if (typeof payload.htu !== 'string' || (payload.htu !== url && (normalUrl(payload.htu) ?? 0) !== normalUrl(url))) throw reject('invalid_dpop_proof', 'DPoP proof htu does not match the request URL');
  if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) throw reject('invalid_dpop_proof', 'DPoP proof has no iat');
  if (payload.iat > now + p.leewaySec) throw reject('invalid_dpop_proof', 'DPoP proof iat is in the future');

  let issuedAt = payload.iat;
  if (p.useNonce) {
    const fresh = (): Record<string, string> => ({ 'dpop-nonce': issueNonce(p, now) });
    if (typeof payload.nonce !== 'string') throw reject('use_dpop_nonce', 'DPoP proof has no nonce', fresh());
    const t = nonceTime(p, payload.nonce);
    if (t === null || t > now + p.leewaySec || now - t > p.lifetimeSec) throw reject('use_dpop_nonce', 'DPoP proof nonce is invalid or stale', fresh());
    issuedAt = t;
  }
  if (now - issuedAt > p.lifetimeSec + p.leewaySec) throw reject('invalid_dpop_proof', 'DPoP proof is too old');

  if (payload.ath !== athOf(token)) throw reject('invalid_dpop_proof', 'DPoP proof ath does not match the access token');

  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) throw reject('invalid_dpop_proof', 'DPoP proof has no jti');
  // Remember the jti for as long as the proof could be accepted.
  if (!(await p.replay.firstUse(jkt, payload.jti, p.lifetimeSec + 2 * p.leewaySec, now))) throw reject('invalid_dpop_proof', 'DPoP proof was replayed (jti already used)');
}
