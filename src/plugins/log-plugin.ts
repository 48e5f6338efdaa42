/**
 * What Kong's logging plugins (http-log, file-log, tcp-log, udp-log, syslog)
 * share: the `custom_fields_by_lua` field, refused (there is no Lua), the
 * serialized entry as JSON, and error lines that cannot flood the log when a
 * log server is down under load.
 */
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { RequestContext } from '../core/context.ts';
import * as pdk from '../pdk/index.ts';

/** Kong's typedefs.lua_code: a map of log field → Lua expression. */
export const customFieldsByLua = () =>
  Type.Union(
    [Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), { kong: { type: 'map' } }), Type.Null()],
    {
      default: null,
      description:
        'A list of key-value pairs, where the key is the name of a log field and the value is a chunk of Lua code, whose return value sets or replaces the log field value.',
    },
  );

export const NO_LUA = 'custom_fields_by_lua is not supported: Portcullis runs no Lua code. Remove it (the serialized log entry has Kong\'s fields without it)';

/** Refuses a non-empty custom_fields_by_lua (part of a plugin's check()). */
export function refuseLua(config: { custom_fields_by_lua?: Record<string, string> | null }): Record<string, unknown> {
  const fields = config.custom_fields_by_lua;
  return fields !== null && fields !== undefined && Object.keys(fields).length > 0 ? { custom_fields_by_lua: NO_LUA } : {};
}

/** kong.log.serialize() as one JSON text (cjson.encode). */
export function serializedJson(ctx: RequestContext): string {
  return JSON.stringify(pdk.log.serialize(ctx));
}

/**
 * An error line that repeats (a log server down, a file that cannot be
 * opened): the first one is written, then at most one per `intervalMs` with
 * the number of failures since.
 */
export class FailureLog {
  private readonly intervalMs: number;
  private last = 0;
  private suppressed = 0;

  constructor(intervalMs = 10_000) {
    this.intervalMs = intervalMs;
  }

  error(log: Logger, message: string): void {
    const now = Date.now();
    if (now - this.last >= this.intervalMs) {
      log.error(this.suppressed > 0 ? `${message} (and ${this.suppressed} more failures since the last report)` : message);
      this.last = now;
      this.suppressed = 0;
    } else {
      this.suppressed++;
    }
  }
}
