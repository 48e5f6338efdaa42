/**
 * Route (kong/db/schema/entities/routes.lua and routes_subschemas.lua, Kong
 * 3.x traditional_compatible flavour). The protocol family picks the
 * subschema: http(s)/ws(s) need one of methods/hosts/headers/paths(/snis),
 * stream routes need sources/destinations/snis, grpc routes cannot strip.
 */
import { Type } from '@sinclair/typebox';
import { OneOf, typedefs } from '../typedefs.ts';
import { refuseUnservedProtocols } from './not-served.ts';
import { addEntityError, conditional, isNonEmpty, quotedList, type EntityDefinition, type FieldErrors } from './definition.ts';

export const routeSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  name: Type.Optional(typedefs.utf8Name({ description: 'The name of the Route.' })),
  protocols: typedefs.protocols(undefined, ['http', 'https'], { minItems: 1, description: 'An array of the protocols this Route should allow.' }),
  methods: Type.Optional(typedefs.methods({ description: 'A list of HTTP methods that match this Route.' })),
  hosts: Type.Optional(typedefs.hosts({ description: 'A list of domain names that match this Route.' })),
  paths: Type.Optional(typedefs.routerPaths({ description: 'A list of paths that match this Route.' })),
  headers: Type.Optional(typedefs.headers({ description: 'One or more lists of values indexed by header name that will cause this Route to match if present in the request.' })),
  https_redirect_status_code: OneOf([426, 301, 302, 307, 308] as const, {
    default: 426,
    description: 'The status code Kong responds with when all properties of a Route match except the protocol.',
  }),
  regex_priority: Type.Optional(Type.Integer({ default: 0, description: 'A number used to choose which route resolves a given request when several routes match it using regexes simultaneously.' })),
  strip_path: Type.Boolean({ default: true, description: 'When matching a Route via one of the paths, strip the matching prefix from the upstream request URL.' }),
  path_handling: Type.Optional(OneOf(['v0', 'v1'] as const, { default: 'v0', description: 'Controls how the Service path, Route path and requested path are combined when sending a request to the upstream.' })),
  preserve_host: Type.Boolean({ default: false, description: 'When matching a Route via one of the hosts domain names, use the request Host header in the upstream request headers.' }),
  request_buffering: Type.Boolean({ default: true, description: 'Whether to enable request body buffering or not.' }),
  response_buffering: Type.Boolean({ default: true, description: 'Whether to enable response body buffering or not.' }),
  snis: Type.Optional(Type.Array(typedefs.sni(), { kong: { type: 'set' }, description: 'A list of SNIs that match this Route when using stream routing.' })),
  sources: Type.Optional(typedefs.endpoints({ description: 'A list of IP sources of incoming connections that match this Route when using stream routing.' })),
  destinations: Type.Optional(typedefs.endpoints({ description: 'A list of IP destinations of incoming connections that match this Route when using stream routing.' })),
  tags: Type.Optional(typedefs.tags()),
  service: Type.Optional(typedefs.foreign('services', { description: 'The Service this Route is associated to.' })),
});

/** Kong's mutually_exclusive_subsets for `protocols`. */
const PROTOCOL_SUBSETS: readonly (readonly string[])[] = [
  ['http', 'https'],
  ['tcp', 'tls', 'udp'],
  ['tls_passthrough'],
  ['grpc', 'grpcs'],
  ['ws', 'wss'],
];

type Family = 'http' | 'stream' | 'grpc' | 'ws';

function familyOf(protocols: string[]): Family | null {
  const first = protocols[0];
  if (first === 'http' || first === 'https') return 'http';
  if (first === 'ws' || first === 'wss') return 'ws';
  if (first === 'grpc' || first === 'grpcs') return 'grpc';
  if (first === 'tcp' || first === 'tls' || first === 'udp' || first === 'tls_passthrough') return 'stream';
  return null;
}

function cannotSet(row: Record<string, unknown>, errors: FieldErrors, field: string, message: string): void {
  if (row[field] !== null && row[field] !== undefined && errors[field] === undefined) errors[field] = message;
}

function mustSetOneOf(row: Record<string, unknown>, errors: FieldErrors, fields: readonly string[], message: string): void {
  if (fields.some((f) => isNonEmpty(row[f]))) return;
  addEntityError(errors, message.replace('%s', quotedList(fields)));
}

function checkRoute(row: Record<string, unknown>, errors: FieldErrors): void {
  checkKongRoute(row, errors);
  // After Kong's own checks, so their messages stay as Kong's.
  refuseUnservedProtocols(errors, row.protocols);
}

function checkKongRoute(row: Record<string, unknown>, errors: FieldErrors): void {
  if (errors.protocols !== undefined || !Array.isArray(row.protocols)) return;
  const protocols = row.protocols as string[];

  const memberOf: (readonly string[])[] = [];
  for (const p of protocols) {
    const subset = PROTOCOL_SUBSETS.find((s) => s.includes(p));
    if (subset && !memberOf.includes(subset)) memberOf.push(subset);
  }
  if (memberOf.length > 1) {
    errors.protocols = `these sets are mutually exclusive: ${memberOf.map((s) => `(${quotedList(s)})`).join(', ')}`;
    return;
  }

  conditional(
    row,
    errors,
    'protocols',
    (v) => Array.isArray(v) && v.every((p) => !['grpcs', 'https', 'tls', 'tls_passthrough', 'wss'].includes(p as string)),
    'snis',
    (v) => (Array.isArray(v) && v.length > 0 ? 'length must be 0' : null),
    "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
  );

  switch (familyOf(protocols)) {
    case 'http':
    case 'ws': {
      const [plain, secure] = familyOf(protocols) === 'http' ? ['http', 'https'] : ['ws', 'wss'];
      cannotSet(row, errors, 'sources', `cannot set 'sources' when 'protocols' is '${plain}' or '${secure}'`);
      cannotSet(row, errors, 'destinations', `cannot set 'destinations' when 'protocols' is '${plain}' or '${secure}'`);
      if (protocols.includes(secure!)) {
        mustSetOneOf(row, errors, ['methods', 'hosts', 'headers', 'paths', 'snis'], `must set one of %s when 'protocols' is '${secure}'`);
      } else {
        mustSetOneOf(row, errors, ['methods', 'hosts', 'headers', 'paths'], `must set one of %s when 'protocols' is '${plain}'`);
      }
      break;
    }
    case 'stream': {
      const msg = "when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'";
      cannotSet(row, errors, 'methods', `cannot set 'methods' ${msg}`);
      cannotSet(row, errors, 'hosts', `cannot set 'hosts' ${msg}`);
      cannotSet(row, errors, 'paths', `cannot set 'paths' ${msg}`);
      cannotSet(row, errors, 'headers', `cannot set 'headers' ${msg}`);
      if (protocols.some((p) => p === 'tcp' || p === 'tls' || p === 'udp')) {
        mustSetOneOf(row, errors, ['sources', 'destinations', 'snis'], "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'");
      }
      if (protocols.includes('tls_passthrough') && !isNonEmpty(row.snis)) {
        addEntityError(errors, "must set snis when 'protocols' is 'tls_passthrough'");
      }
      break;
    }
    case 'grpc': {
      if (row.strip_path === true && errors.strip_path === undefined) {
        errors.strip_path = "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'";
      }
      cannotSet(row, errors, 'methods', "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'");
      cannotSet(row, errors, 'sources', "cannot set 'sources' when 'protocols' is 'grpc' or 'grpcs'");
      cannotSet(row, errors, 'destinations', "cannot set 'destinations' when 'protocols' is 'grpc' or 'grpcs'");
      if (protocols.includes('grpcs')) {
        mustSetOneOf(row, errors, ['hosts', 'headers', 'paths', 'snis'], "must set one of %s when 'protocols' is 'grpcs'");
      } else {
        mustSetOneOf(row, errors, ['hosts', 'headers', 'paths'], "must set one of %s when 'protocols' is 'grpc'");
      }
      break;
    }
    default:
      break;
  }
}

export const routes: EntityDefinition = {
  name: 'routes',
  schema: routeSchema,
  endpointKey: 'name',
  uniques: ['name'],
  cacheKey: null,
  timestamps: 's',
  contextualDefaults(input) {
    // The grpc subschema redefines strip_path with default false.
    const protocols = Array.isArray(input.protocols) ? (input.protocols as unknown[]) : null;
    if (protocols && (protocols[0] === 'grpc' || protocols[0] === 'grpcs') && input.strip_path === undefined) {
      input.strip_path = false;
    }
  },
  check: checkRoute,
};
