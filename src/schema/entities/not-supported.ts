/**
 * Entity fields Kong has and Portcullis does not implement yet: accepted at
 * their Kong default (so exports from Kong load), refused with a message that
 * names the field otherwise (ARCHITECTURE principle 13). The fields that are
 * accepted with no effect on purpose are in src/schema/compatibility.ts.
 */
import type { FieldErrors } from './definition.ts';

export const NOT_SUPPORTED = 'not supported by Portcullis yet';

/** Refuse `field` unless `value` is unset (null) or `acceptable`. */
export function notSupported(errors: FieldErrors, field: string, value: unknown, why: string, acceptable: (v: unknown) => boolean = () => false): void {
  if (value === null || value === undefined || errors[field] !== undefined || acceptable(value)) return;
  errors[field] = `${NOT_SUPPORTED}: ${why}`;
}
