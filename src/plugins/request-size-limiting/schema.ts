/**
 * `config` of the request-size-limiting plugin, with Kong's names and
 * defaults (kong/plugins/request-size-limiting/schema.lua, Kong Gateway 3.x).
 */
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../../schema/typedefs.ts';

/** Kong's size_units, the first being the default. */
export const SIZE_UNITS = ['megabytes', 'kilobytes', 'bytes'] as const;

/** Kong's unit_multiplication_factor (binary units). */
export const UNIT_FACTOR: Readonly<Record<(typeof SIZE_UNITS)[number], number>> = { bytes: 1, kilobytes: 1024, megabytes: 1048576 };

export const schema = Type.Object(
  {
    allowed_payload_size: Type.Integer({ default: 128, description: 'Allowed request payload size in megabytes. Default is `128` megabytes (128000000 bytes).' }),
    size_unit: OneOf(SIZE_UNITS, { default: 'megabytes', description: 'Size unit can be set either in `bytes`, `kilobytes`, or `megabytes` (default).' }),
    require_content_length: Type.Boolean({ default: false, description: 'Set to `true` to ensure a valid `Content-Length` header exists before reading the request body.' }),
  },
  { additionalProperties: false },
);

export type RequestSizeLimitingConfig = Static<typeof schema>;
