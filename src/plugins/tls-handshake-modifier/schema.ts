/**
 * `config` of the tls-handshake-modifier plugin, with Kong's name and default
 * (Kong Gateway Enterprise 3.x: `tls_client_certificate`, one_of REQUEST).
 */
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../../schema/typedefs.ts';

export const schema = Type.Object(
  {
    tls_client_certificate: OneOf(['REQUEST'] as const, {
      default: 'REQUEST',
      description: 'TLS Client Certificate: `REQUEST` asks the client for a certificate during the handshake (not required, not verified).',
    }),
  },
  { additionalProperties: false },
);

export type TlsHandshakeModifierConfig = Static<typeof schema>;
