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

function encKeyIv(ikm: Buffer, sid: Buffer, remember: boolean): { key: Buffer; iv: Buffer } {
  const okm = Buffer.from(hkdfSync('sha256', ikm, sid, remember ? INFO_REMEMBER_ENC : INFO_ENC, 44));
  return { key: okm.subarray(0, 32), iv: okm.subarray(32, 44) };
}

function mac(ikm: Buffer, sid: Buffer, remember: boolean, input: Buffer): Buffer {
  const key = Buffer.from(hkdfSync('sha256', ikm, sid, remember ? INFO_REMEMBER_MAC : INFO_MAC, 32));
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
    const expected = mac(ikm, sid, remember, bytes.subarray(0, MAC_INPUT_END));
    if (timingSafeEqual(expected, given)) {
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

/** Decrypts the payload of an authenticated header; null when it does not decrypt or parse. */
export function openPayload(header: Header, ikm: Buffer, payload: string): unknown {
  if (payload.length !== header.payloadSize || payload.length > MAX_PAYLOAD_SIZE) return null;
  if (!/^[A-Za-z0-9_-]*$/.test(payload)) return null;
  const remember = (header.flags & FLAG_REMEMBER) !== 0;
  try {
    const { key, iv } = encKeyIv(ikm, header.sid, remember);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(header.bytes.subarray(0, AAD_END));
    decipher.setAuthTag(header.tag);
    let plaintext = Buffer.concat([decipher.update(Buffer.from(payload, 'base64url')), decipher.final()]);
    if ((header.flags & FLAG_DEFLATE) !== 0) plaintext = inflateRawSync(plaintext, { maxOutputLength: 4 * MAX_PAYLOAD_SIZE });
    return JSON.parse(plaintext.toString('utf8')) as unknown;
  } catch {
    return null;
  }
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
