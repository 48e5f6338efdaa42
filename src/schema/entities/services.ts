/**
 * Service (kong/db/schema/entities/services.lua, Kong 3.x): an upstream API.
 * The `url` shorthand is decomposed into protocol/host/port/path, on create
 * and on PATCH alike.
 */
import { Type } from '@sinclair/typebox';
import { parseUrl } from '../checks.ts';
import { typedefs } from '../typedefs.ts';
import { notSupported } from './not-supported.ts';
import { refuseUnservedProtocol } from './not-served.ts';
import { conditional, mustBeNull, type EntityDefinition, type FieldErrors } from './definition.ts';

const nonzeroTimeout = (description: string) =>
  Type.Integer({ minimum: 1, maximum: 2 ** 31 - 2, default: 60000, description });

export const serviceSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  name: Type.Optional(typedefs.utf8Name({ description: 'The service name.' })),
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 32767, default: 5, description: 'The number of retries to execute upon failure to proxy.' })),
  protocol: typedefs.protocol({ default: 'http', description: 'The protocol used to communicate with the upstream.' }),
  host: typedefs.host({ description: 'The host of the upstream server.' }),
  port: typedefs.port({ default: 80, description: 'The upstream server port.' }),
  path: Type.Optional(typedefs.path({ description: 'The path to be used in requests to the upstream server.' })),
  connect_timeout: Type.Optional(nonzeroTimeout('The timeout in milliseconds for establishing a connection to the upstream server.')),
  write_timeout: Type.Optional(nonzeroTimeout('The timeout in milliseconds between two successive write operations for transmitting a request to the upstream server.')),
  read_timeout: Type.Optional(nonzeroTimeout('The timeout in milliseconds between two successive read operations for transmitting a request to the upstream server.')),
  tags: Type.Optional(typedefs.tags()),
  client_certificate: Type.Optional(typedefs.foreign('certificates', { description: 'Certificate to be used as client certificate while TLS handshaking to the upstream server.' })),
  tls_verify: Type.Optional(Type.Boolean({ description: 'Whether to enable verification of upstream server TLS certificate.' })),
  tls_verify_depth: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, description: "Maximum depth of chain while verifying Upstream server's TLS certificate." })),
  ca_certificates: Type.Optional(Type.Array(typedefs.uuid({ kong: { auto: false } }), { description: 'Array of CA Certificate object UUIDs that are used to build the trust store while verifying upstream server\'s TLS certificate.' })),
  enabled: Type.Boolean({ default: true, description: 'Whether the Service is active.' }),
});

/** Kong's `url` shorthand (services.lua shorthand_fields). */
export function decomposeServiceUrl(input: Record<string, unknown>, errors: FieldErrors): void {
  if (!('url' in input)) return;
  const url = input.url;
  delete input.url;
  if (url === null || url === undefined) return;
  if (typeof url !== 'string') {
    errors.url = 'expected a string';
    return;
  }
  const parsed = parseUrl(url);
  const port = parsed.port !== null && /^\d+$/.test(parsed.port) ? Number(parsed.port) : null;
  const protocol = parsed.scheme ?? (port === 80 ? 'http' : port === 443 ? 'https' : 'http');
  input.protocol = protocol;
  input.host = parsed.host;
  input.port =
    port ??
    (parsed.port !== null && parsed.port !== '' ? parsed.port : null) ??
    (protocol === 'http' || protocol === 'ws' ? 80 : protocol === 'https' || protocol === 'wss' ? 443 : 80);
  input.path = parsed.path;
}

const TLS_CAPABLE = ['https', 'wss', 'tls'];
const NO_PATH = ['tcp', 'tls', 'udp', 'grpc', 'grpcs'];

export const services: EntityDefinition = {
  name: 'services',
  schema: serviceSchema,
  endpointKey: 'name',
  uniques: ['name'],
  cacheKey: null,
  timestamps: 's',
  shorthands: decomposeServiceUrl,
  check(row, errors) {
    const proto = (v: unknown) => typeof v === 'string';
    conditional(row, errors, 'protocol', (v) => proto(v) && NO_PATH.includes(v as string), 'path', mustBeNull);
    conditional(row, errors, 'protocol', (v) => proto(v) && !TLS_CAPABLE.includes(v as string), 'client_certificate', mustBeNull);
    conditional(row, errors, 'protocol', (v) => proto(v) && !TLS_CAPABLE.includes(v as string), 'tls_verify', mustBeNull);
    conditional(row, errors, 'protocol', (v) => proto(v) && !['https', 'tls'].includes(v as string), 'tls_verify_depth', mustBeNull);
    conditional(row, errors, 'protocol', (v) => proto(v) && !['https', 'tls'].includes(v as string), 'ca_certificates', mustBeNull);
    // After Kong's own checks, so their messages stay as Kong's.
    refuseUnservedProtocol(errors, row.protocol);
    notSupported(errors, 'tls_verify_depth', row.tls_verify_depth, 'limiting the upstream certificate chain depth');
  },
};
