/**
 * Kong's error bodies, negotiated from the request as Kong does
 * (kong/tools/http.lua `get_response_type`, `get_mime_type`,
 * `get_error_template`). Two entry points, because Kong has two:
 *
 * - `kong.response.error()` (no route, 426, balancer failures): the Accept
 *   header decides; absent or unknown → JSON.
 * - nginx error pages (kong/error_handlers.lua: upstream 502/504, 500, 400,
 *   413): Accept, else the request's Content-Type, else `error_default_type`
 *   (text/plain).
 *
 * Every template carries the request id (Kong 3.5+).
 */

export const TYPE_JSON = 'application/json; charset=utf-8';
export const TYPE_HTML = 'text/html; charset=utf-8';
export const TYPE_XML = 'application/xml; charset=utf-8';
export const TYPE_PLAIN = 'text/plain; charset=utf-8';

/** kong.conf `error_default_type`. */
const ERROR_DEFAULT_TYPE = 'text/plain';

/** get_mime_type: a media range → one of the four template types (JSON when unknown). */
export function mimeTypeFor(mediaRange: string): string {
  let media = mediaRange.trim();
  const semi = media.indexOf(';');
  if (semi !== -1) media = media.slice(0, semi).trim();
  media = media.toLowerCase();
  const slash = media.indexOf('/');
  if (slash === -1) return TYPE_JSON;
  const type = media.slice(0, slash);
  const sub = media.slice(slash + 1);
  if (sub === '*') {
    if (type === 'text') return TYPE_PLAIN;
    return TYPE_JSON; // '*/*', 'application/*' and anything else
  }
  switch (media) {
    case 'text/html':
      return TYPE_HTML;
    case 'application/xml':
      return TYPE_XML;
    case 'text/plain':
      return TYPE_PLAIN;
    default:
      return TYPE_JSON;
  }
}

const TOKEN = /^(?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*)\/(?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*)$/i;
const QVALUE = /^(?:1(?:\.0{0,3})?|0(?:\.\d{0,3})?)$/;

/**
 * get_response_type: the highest-q media range of an Accept header picks the
 * template; ties keep the first; q=0 ranges never win; no usable range → JSON.
 */
export function responseTypeFor(accept: string | undefined): string {
  if (accept === undefined || accept === '') return TYPE_JSON;
  // Fast path: the common single value without parameters.
  if (accept.indexOf(',') === -1 && accept.indexOf(';') === -1) {
    return TOKEN.test(accept.trim()) ? mimeTypeFor(accept) : TYPE_JSON;
  }
  let best = TYPE_JSON;
  let bestQ = 0;
  for (const part of accept.split(',')) {
    const params = part.split(';');
    const media = params[0]!.trim();
    if (!TOKEN.test(media)) continue;
    let q = 1;
    for (let i = 1; i < params.length; i++) {
      const p = params[i]!.trim();
      if (p.length > 1 && (p.charCodeAt(0) | 0x20) === 113 /* q */ && p.charCodeAt(1) === 61 /* = */) {
        const v = p.slice(2).trim();
        q = QVALUE.test(v) ? Number(v) : 1;
      }
    }
    if (q > bestQ) {
      bestQ = q;
      best = mimeTypeFor(media);
    }
  }
  return best;
}

/** The nginx error-page path: Accept, else Content-Type, else error_default_type. */
export function errorPageTypeFor(accept: string | undefined, contentType: string | undefined): string {
  return responseTypeFor(accept ?? contentType ?? ERROR_DEFAULT_TYPE);
}

function jsonString(s: string): string {
  return JSON.stringify(s);
}

/** Render Kong's error template for `type` (one of the TYPE_* constants). */
export function renderError(type: string, message: string, requestId: string): string {
  switch (type) {
    case TYPE_HTML:
      return `<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>${escapeMarkup(message)}.</p>\n    <p>request_id: ${requestId}</p>\n  </body>\n</html>\n`;
    case TYPE_XML:
      return `<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>${escapeMarkup(message)}</message>\n  <requestid>${requestId}</requestid>\n</error>\n`;
    case TYPE_PLAIN:
      return `${message}\nrequest_id: ${requestId}\n`;
    default:
      return `{\n  "message":${jsonString(message)},\n  "request_id":"${requestId}"\n}`;
  }
}

const MARKUP = /[&<>"]/g;
const HAS_MARKUP = /[&<>"]/;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Kong inserts messages verbatim; ours are static, but a plugin's message may not be. */
function escapeMarkup(s: string): string {
  return HAS_MARKUP.test(s) ? s.replace(MARKUP, (c) => ENTITIES[c]!) : s;
}
