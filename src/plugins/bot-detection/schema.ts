/**
 * `config` of the bot-detection plugin, with Kong's names and defaults
 * (kong/plugins/bot-detection/schema.lua, Kong Gateway 3.9.3): `allow` and
 * `deny`, arrays of regexes (is_regex) matched against the User-Agent.
 */
import { Type, type Static } from '@sinclair/typebox';
import { pcreError } from './regex.ts';

const regexes = (description: string) => Type.Array(Type.String(), { default: [], description });

export const schema = Type.Object(
  {
    allow: regexes('An array of regular expressions that should be allowed. The regular expressions will be checked against the `User-Agent` header.'),
    deny: regexes('An array of regular expressions that should be denied. The regular expressions will be checked against the `User-Agent` header.'),
  },
  { additionalProperties: false },
);

export type BotDetectionConfig = Static<typeof schema>;

/** Kong's is_regex on each element: "not a valid regex: <value>", reported by position. */
export function check(config: BotDetectionConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of ['allow', 'deny'] as const) {
    const list = config[field];
    if (!Array.isArray(list)) continue;
    const errors: (string | null)[] = [];
    list.forEach((source, i) => {
      if (pcreError(source) === null) return;
      while (errors.length < i) errors.push(null);
      errors[i] = `not a valid regex: ${source}`;
    });
    if (errors.length > 0) out[field] = errors;
  }
  return out;
}
