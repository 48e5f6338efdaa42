/**
 * Request bodies of the Admin API, read with a size limit and parsed the way
 * Kong's Admin API accepts them (kong/api/api_helpers.lua before_filter and
 * parse_params): JSON, form-urlencoded and multipart/form-data. Anything
 * else on PUT/POST/PATCH is 415; a JSON body that does not parse is 400
 * `Cannot parse JSON body`. Form values are decoded into nested arguments
 * (see form.ts) but stay strings until the entity schema coerces them.
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { AdminError, message } from './errors.ts';
import { decodeFormPairs, decodeUrlEncoded } from './form.ts';

export type BodyKind = 'none' | 'json' | 'form' | 'multipart' | 'text';

export interface ParsedBody {
  kind: BodyKind;
  /** JSON value, or decoded form arguments, or the text for `text`. */
  value: unknown;
  raw: Buffer;
  contentType: string | null;
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

const TEXT_TYPES = ['text/yaml', 'text/x-yaml', 'application/yaml', 'application/x-yaml', 'text/plain'];

/** Read the whole body, refusing more than `max` bytes (413) without buffering the excess. */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    req.resume();
    throw message(413, 'Request size limit exceeded');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      req.resume();
      throw message(413, 'Request size limit exceeded');
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function mediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

async function parseMultipart(raw: Buffer, contentType: string): Promise<Record<string, unknown>> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw message(400, 'Cannot parse multipart body');
  }
  const pairs: Array<[string, unknown]> = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') {
      pairs.push([name, value]);
      continue;
    }
    // a file part (`-F config=@kong.yml`): its text; JSON parts are decoded as Kong does
    const text = await value.text();
    if (value.type.toLowerCase().startsWith('application/json')) {
      try {
        pairs.push([name, JSON.parse(text)]);
        continue;
      } catch {
        // Kong keeps the raw text when the JSON part does not parse
      }
    }
    pairs.push([name, text]);
  }
  return decodeFormPairs(pairs);
}

/**
 * Parse a body already read. `acceptText` lets an endpoint (POST /config)
 * take YAML/plain text as well; everywhere else those are 415.
 */
export async function parseBody(
  raw: Buffer,
  contentTypeHeader: string | undefined,
  opts: { acceptText?: boolean } = {},
): Promise<ParsedBody> {
  const contentType = contentTypeHeader ?? null;
  if (contentType === null || contentType.trim() === '') {
    if (raw.length === 0) return { kind: 'none', value: undefined, raw, contentType };
    if (opts.acceptText) return { kind: 'text', value: raw.toString('utf8'), raw, contentType };
    throw message(415, 'Unsupported Media Type');
  }
  const type = mediaType(contentType);
  if (type.startsWith('application/json')) {
    try {
      const value: unknown = JSON.parse(raw.toString('utf8'));
      return { kind: 'json', value, raw, contentType };
    } catch {
      throw message(400, 'Cannot parse JSON body');
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    return { kind: 'form', value: decodeUrlEncoded(raw.toString('utf8')), raw, contentType };
  }
  if (type === 'multipart/form-data') {
    return { kind: 'multipart', value: await parseMultipart(raw, contentType), raw, contentType };
  }
  if (opts.acceptText && TEXT_TYPES.includes(type)) {
    return { kind: 'text', value: raw.toString('utf8'), raw, contentType };
  }
  if (raw.length === 0) return { kind: 'none', value: undefined, raw, contentType };
  throw message(415, 'Unsupported Media Type');
}

/** The body as an object of entity fields, or 400 when it is JSON but not an object. */
export function bodyObject(body: ParsedBody): Record<string, unknown> {
  if (body.kind === 'none') return {};
  if (typeof body.value === 'object' && body.value !== null && !Array.isArray(body.value)) {
    return body.value as Record<string, unknown>;
  }
  throw new AdminError(400, { message: 'Cannot parse JSON body' });
}
