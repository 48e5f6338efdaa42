/**
 * CA certificate (kong/db/schema/entities/ca_certificates.lua, Kong 3.x):
 * one trusted CA for upstream TLS verification and mTLS. `cert_digest`
 * (hex SHA-256 of the DER) is derived and unique.
 */
import { X509Certificate } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import { addEntityError, type EntityDefinition } from './definition.ts';

export const caCertificateSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  cert: typedefs.certificate({ description: 'PEM-encoded public certificate of the CA.' }),
  cert_digest: Type.Optional(Type.String({ kong: { unique: true }, description: 'SHA256 hex digest of the public certificate.' })),
  tags: Type.Optional(typedefs.tags()),
});

export function certDigest(pem: string): string | null {
  try {
    return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
  } catch {
    return null;
  }
}

export const caCertificates: EntityDefinition = {
  name: 'ca_certificates',
  schema: caCertificateSchema,
  endpointKey: null,
  uniques: ['cert_digest'],
  cacheKey: null,
  timestamps: 's',
  check(row, errors) {
    if (errors.cert !== undefined || typeof row.cert !== 'string') return;
    const pem = row.cert;
    if ((pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length > 1) {
      addEntityError(errors, 'please submit only one certificate at a time');
      return;
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      return;
    }
    if (Date.parse(cert.validTo) < Date.now()) {
      addEntityError(errors, 'certificate expired, "Not After" time is in the past');
      return;
    }
    if (!cert.ca) {
      addEntityError(errors, 'certificate does not appear to be a CA because it is missing the "CA" basic constraint');
    }
  },
  finalize(row) {
    if (typeof row.cert === 'string') row.cert_digest = certDigest(row.cert);
  },
};
