/**
 * Certificate (kong/db/schema/entities/certificates.lua, Kong 3.x): a PEM
 * certificate and its key, optionally an alternative pair of another key
 * type (RSA + ECDSA). The Admin API's `snis` pseudo-field is not stored here
 * (validate.ts hands it back as `extras.snis`).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { typedefs } from '../typedefs.ts';
import { addEntityError, mutuallyRequired, type EntityDefinition } from './definition.ts';

export const certificateSchema = Type.Object({
  id: Type.Optional(typedefs.uuid()),
  created_at: Type.Optional(typedefs.autoTimestampS()),
  updated_at: Type.Optional(typedefs.autoTimestampS()),
  cert: typedefs.certificate({ description: 'PEM-encoded public certificate chain of the SSL key pair.' }),
  key: typedefs.key({ description: 'PEM-encoded private key of the SSL key pair.' }),
  cert_alt: Type.Optional(typedefs.certificate({ description: 'PEM-encoded public certificate chain of the alternate SSL key pair.' })),
  key_alt: Type.Optional(typedefs.key({ description: 'PEM-encoded private key of the alternate SSL key pair.' })),
  tags: Type.Optional(typedefs.tags()),
});

function keyType(pem: string): string | null {
  try {
    return new X509Certificate(pem).publicKey.asymmetricKeyType ?? null;
  } catch {
    return null;
  }
}

function matches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

export const certificates: EntityDefinition = {
  name: 'certificates',
  schema: certificateSchema,
  endpointKey: null,
  uniques: [],
  cacheKey: null,
  timestamps: 's',
  check(row, errors) {
    mutuallyRequired(row, errors, ['cert_alt', 'key_alt']);
    const { cert, key, cert_alt: certAlt, key_alt: keyAlt } = row as Record<string, string | null>;
    if (errors.cert === undefined && errors.key === undefined && typeof cert === 'string' && typeof key === 'string') {
      if (!matches(cert, key)) addEntityError(errors, 'certificate does not match key');
    }
    if (typeof certAlt === 'string' && typeof keyAlt === 'string' && errors.cert_alt === undefined && errors.key_alt === undefined) {
      if (!matches(certAlt, keyAlt)) addEntityError(errors, 'alternative certificate does not match key');
      if (typeof cert === 'string' && keyType(cert) !== null && keyType(cert) === keyType(certAlt)) {
        addEntityError(
          errors,
          'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type',
        );
      }
    }
  },
};
