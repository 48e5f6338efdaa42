/**
 * `config` of the file-log plugin, with Kong's names, types and defaults
 * (kong/plugins/file-log/schema.lua, Kong Gateway 3.9.3).
 */
import { Type, type Static } from '@sinclair/typebox';
import { customFieldsByLua, refuseLua } from '../log-plugin.ts';

export const schema = Type.Object(
  {
    path: Type.String({
      // Kong's match [[^[^*&%%\`]+$]] (err "not a valid filename").
      pattern: '^[^*&%\\\\`]+$',
      description: "The file path of the output log file. The plugin creates the log file if it doesn't exist yet.",
    }),
    reopen: Type.Boolean({ default: false, description: 'Determines whether the log file is closed and reopened on every request.' }),
    custom_fields_by_lua: customFieldsByLua(),
  },
  { additionalProperties: false },
);

export type FileLogConfig = Static<typeof schema>;

export function check(config: FileLogConfig): Record<string, unknown> {
  const lua = refuseLua(config);
  if (Object.keys(lua).length > 0) return lua;
  if (!/^[^*&%\\`]+$/.test(config.path)) return { path: 'not a valid filename' };
  return {};
}
