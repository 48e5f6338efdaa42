/**
 * Session cookie cryptography, modelled on lua-resty-session 4 (the library
 * Kong's openid-connect plugin uses for its sessions):
 *
 * - a fixed-size binary header, authenticated with HMAC-SHA256 (truncated to
 *   128 bits) under a key derived per session id, carrying the timestamps the
 *   idle/rolling/absolute timeouts are computed from;
 * - the session data, JSON, optionally deflated, encrypted with AES-256-GCM
 *   under a key and IV derived per session id (HKDF-SHA256, RFC 5869), with
 *   the header's fixed part as additional authenticated data.
 *
 * Every save draws a fresh random session id, so a (key, IV) pair is never
 * reused. "Touching" a session (idle timeout refresh) rewrites only the idling
 * offset and the header MAC; the ciphertext stays as it is.
 *
 * Header layout (68 bytes, 91 characters base64url):
 *   0  version (1)        1  flags (1)          2  session id (16)
 *   18 creation time (6)  24 rolling offset (4) 28 payload size (4)
 *   32 GCM tag (16)       48 idling offset (4)  52 MAC (16)
 * AAD = bytes 0..31; MAC input = bytes 0..51.
 */
import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

export const HEADER_SIZE = 68;
export const HEADER_ENCODED_SIZE = 91;
const VERSION = 1;
const AAD_END = 32;
const MAC_INPUT_END = 52;
const SID_SIZE = 16;
/** Largest payload we accept back (well above 9 cookies' worth). */
export const MAX_PAYLOAD_SIZE = 128 * 1024;
const MAX_UINT48 = 2 ** 48 - 1;
const MAX_UINT32 = 2 ** 32 - 1;

export const FLAG_STORAGE = 0b0001;
export const FLAG_DEFLATE = 0b0010;
export const FLAG_REMEMBER = 0b0100;

const INFO_ENC = Buffer.from('portcullis session aes-256-gcm v1');
const INFO_MAC = Buffer.from('portcullis session hmac-sha256 v1');
const INFO_REMEMBER_ENC = Buffer.from('portcullis remember aes-256-gcm v1');
const INFO_REMEMBER_MAC = Buffer.from('portcullis remember hmac-sha256 v1');

/** Input keying material: SHA-256 of the secret (as lua-resty-session does). */
export function ikmOf(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export interface Header {
  flags: number;
  sid: Buffer;
  creationTime: number;
  rollingOffset: number;
  payloadSize: number;
  tag: Buffer;
  idlingOffset: number;
  /** The decoded header bytes as received/produced. */
  bytes: Buffer;
}

/**
 * Derived keys per (secret, session id, purpose), kept in a bounded LRU: a
 * session cookie replayed on every request would otherwise pay two HKDF
 * derivations per request. The map key is the session id (16 random bytes,
 * latin1) plus the purpose; the secret is the outer WeakMap key (its ikm
 * Buffer, one per compiled configuration), so a secret rotation never
 * reuses a key derived under the old secret. Bounded: the oldest entry goes.
 */
const DERIVED_MAX = 10_000;
const derived = new WeakMap<Buffer, Map<string, Buffer>>();

/**
 * `keep` false: derive without remembering (a header whose MAC is not yet
 * checked — random session ids sent by anyone must not evict real ones).
 */
function derive(ikm: Buffer, sid: Buffer, info: Buffer, purpose: string, length: number, keep = true): Buffer {
  let m = derived.get(ikm);
  if (m === undefined) {
    m = new Map();
    derived.set(ikm, m);
  }
  const k = purpose + sid.toString('latin1');
  const hit = m.get(k);
  if (hit !== undefined) return hit;
  const okm = Buffer.from(hkdfSync('sha256', ikm, sid, info, length));
  if (!keep) return okm;
  if (m.size >= DERIVED_MAX) {
    const oldest = m.keys().next();
    if (!oldest.done) m.delete(oldest.value);
  }
  m.set(k, okm);
  return okm;
}

function encKeyIv(ikm: Buffer, sid: Buffer, remember: boolean): { key: Buffer; iv: Buffer } {
  const okm = remember ? derive(ikm, sid, INFO_REMEMBER_ENC, 'E', 44) : derive(ikm, sid, INFO_ENC, 'e', 44);
  return { key: okm.subarray(0, 32), iv: okm.subarray(32, 44) };
}

function mac(ikm: Buffer, sid: Buffer, remember: boolean, input: Buffer, keep = true): Buffer {
  const key = remember ? derive(ikm, sid, INFO_REMEMBER_MAC, 'M', 32, keep) : derive(ikm, sid, INFO_MAC, 'm', 32, keep);
  return createHmac('sha256', key).update(input).digest().subarray(0, 16);
}

export function newSessionId(): Buffer {
  return randomBytes(SID_SIZE);
}

export interface SealInput {
  ikm: Buffer;
  flags: number;
  creationTime: number;
  rollingOffset: number;
  data: unknown;
  /** Deflate the JSON when it is at least this many bytes; 0 = never. */
  compressAbove: number;
}

export interface Sealed {
  header: Header;
  headerEncoded: string;
  /** base64url ciphertext */
  payload: string;
}

/** Encrypts `data` under a fresh session id and builds the authenticated header. */
export function seal(input: SealInput): Sealed {
  const remember = (input.flags & FLAG_REMEMBER) !== 0;
  let flags = input.flags & ~FLAG_DEFLATE;
  let plaintext = Buffer.from(JSON.stringify(input.data), 'utf8');
  if (input.compressAbove > 0 && plaintext.length >= input.compressAbove) {
    const deflated = deflateRawSync(plaintext);
    if (deflated.length < plaintext.length) {
      plaintext = deflated;
      flags |= FLAG_DEFLATE;
    }
  }
  const sid = newSessionId();
  const creationTime = Math.min(Math.max(0, Math.floor(input.creationTime)), MAX_UINT48);
  const rollingOffset = Math.min(Math.max(0, Math.floor(input.rollingOffset)), MAX_UINT32);
  // base64url length of the ciphertext (GCM ciphertext = plaintext length).
  const payloadSize = Math.ceil((plaintext.length * 4) / 3);

  const bytes = Buffer.alloc(HEADER_SIZE);
  bytes.writeUInt8(VERSION, 0);
  bytes.writeUInt8(flags, 1);
  sid.copy(bytes, 2);
  bytes.writeUIntBE(creationTime, 18, 6);
  bytes.writeUInt32BE(rollingOffset, 24);
  bytes.writeUInt32BE(payloadSize, 28);

  const { key, iv } = encKeyIv(input.ikm, sid, remember);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(bytes.subarray(0, AAD_END));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  tag.copy(bytes, 32);
  bytes.writeUInt32BE(0, 48);
  mac(input.ikm, sid, remember, bytes.subarray(0, MAC_INPUT_END)).copy(bytes, MAC_INPUT_END);

  return {
    header: { flags, sid, creationTime, rollingOffset, payloadSize, tag, idlingOffset: 0, bytes },
    headerEncoded: bytes.toString('base64url'),
    payload: ciphertext.toString('base64url'),
  };
}

/**
 * Decodes and authenticates a header. Tries each key in `ikms` (current
 * secret first, then fallbacks). Returns the header and the key that
 * authenticated it, or null.
 */
export function openHeader(encoded: string, ikms: readonly Buffer[], remember: boolean): { header: Header; ikm: Buffer } | null {
  if (encoded.length !== HEADER_ENCODED_SIZE || !/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
  const bytes = Buffer.from(encoded, 'base64url');
  if (bytes.length !== HEADER_SIZE || bytes.readUInt8(0) !== VERSION) return null;
  const sid = bytes.subarray(2, 18);
  const given = bytes.subarray(MAC_INPUT_END, HEADER_SIZE);
  for (const ikm of ikms) {
    const expected = mac(ikm, sid, remember, bytes.subarray(0, MAC_INPUT_END), false);
    if (timingSafeEqual(expected, given)) {
      // Authentic: now the MAC key may be remembered for this session's next requests.
      if (remember) derive(ikm, sid, INFO_REMEMBER_MAC, 'M', 32);
      else derive(ikm, sid, INFO_MAC, 'm', 32);
      return {
        ikm,
        header: {
          flags: bytes.readUInt8(1),
          sid: Buffer.from(sid),
          creationTime: bytes.readUIntBE(18, 6),
          rollingOffset: bytes.readUInt32BE(24),
          payloadSize: bytes.readUInt32BE(28),
          tag: Buffer.from(bytes.subarray(32, 48)),
          idlingOffset: bytes.readUInt32BE(48),
          bytes,
        },
      };
    }
  }
  return null;
}

/**
 * Opened payloads, per secret: the same cookie replayed on every request is
 * decrypted and parsed once. An entry is used only for the exact bytes that
 * produced it — the authenticated header's AAD and GCM tag (the map key) and
 * the identical ciphertext (compared in full) — so a hit returns what
 * decryption would return, and anything altered is decrypted (and refused)
 * as before. Values are deeply frozen: callers share them. Bounded LRU.
 */
const OPENED_MAX = 5_000;
/** …and at most this many payload characters per secret (a parsed value is of the same order). */
const OPENED_MAX_CHARS = 8 * 1024 * 1024;
const opened = new WeakMap<Buffer, Map<string, { payload: string; value: unknown }> & { chars?: number }>();

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** Decrypts the payload of an authenticated header; null when it does not decrypt or parse. The result is frozen. */
export function openPayload(header: Header, ikm: Buffer, payload: string): unknown {
  if (payload.length !== header.payloadSize || payload.length > MAX_PAYLOAD_SIZE) return null;
  let m = opened.get(ikm);
  if (m === undefined) {
    m = new Map();
    opened.set(ikm, m);
  }
  const cacheKey = header.bytes.toString('latin1', 0, 48);
  const hit = m.get(cacheKey);
  if (hit !== undefined && hit.payload === payload) {
    m.delete(cacheKey);
    m.set(cacheKey, hit);
    return hit.value;
  }
  if (!/^[A-Za-z0-9_-]*$/.test(payload)) return null;
  const remember = (header.flags & FLAG_REMEMBER) !== 0;
  let value: unknown;
  try {
    const { key, iv } = encKeyIv(ikm, header.sid, remember);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(header.bytes.subarray(0, AAD_END));
    decipher.setAuthTag(header.tag);
    let plaintext = Buffer.concat([decipher.update(Buffer.from(payload, 'base64url')), decipher.final()]);
    if ((header.flags & FLAG_DEFLATE) !== 0) plaintext = inflateRawSync(plaintext, { maxOutputLength: 4 * MAX_PAYLOAD_SIZE });
    value = deepFreeze(JSON.parse(plaintext.toString('utf8')) as unknown);
  } catch {
    return null;
  }
  if (hit !== undefined) {
    m.delete(cacheKey);
    m.chars = (m.chars ?? 0) - hit.payload.length;
  }
  let chars = (m.chars ?? 0) + payload.length;
  while (m.size > 0 && (m.size >= OPENED_MAX || chars > OPENED_MAX_CHARS)) {
    const oldest = m.entries().next();
    if (oldest.done) break;
    m.delete(oldest.value[0]);
    chars -= oldest.value[1].payload.length;
  }
  m.chars = chars;
  m.set(cacheKey, { payload, value });
  return value;
}

/** A header with a new idling offset and MAC (lua-resty-session's `touch`). */
export function touchHeader(header: Header, ikm: Buffer, idlingOffset: number): { header: Header; headerEncoded: string } {
  const bytes = Buffer.from(header.bytes);
  const offset = Math.min(Math.max(0, Math.floor(idlingOffset)), MAX_UINT32);
  bytes.writeUInt32BE(offset, 48);
  const remember = (header.flags & FLAG_REMEMBER) !== 0;
  mac(ikm, header.sid, remember, bytes.subarray(0, MAC_INPUT_END)).copy(bytes, MAC_INPUT_END);
  return { header: { ...header, idlingOffset: offset, bytes }, headerEncoded: bytes.toString('base64url') };
}

/** Storage key of a session id: base64url(SHA-256(sid)), so the store never sees the id itself. */
export function storageKey(sid: Buffer): string {
  return createHash('sha256').update(sid).digest('base64url');
}
