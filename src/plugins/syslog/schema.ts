/**
 * `config` of the syslog plugin, with Kong's names, types and defaults
 * (kong/plugins/syslog/schema.lua, Kong Gateway 3.9.3).
 */
import { Type, type Static } from '@sinclair/typebox';
import { customFieldsByLua, refuseLua } from '../log-plugin.ts';

/** Kong's severities, most to least verbose threshold order by priority number (RFC 5424 §6.2.1). */
export const SEVERITIES = { emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type Severity = keyof typeof SEVERITIES;

/** RFC 5424 §6.2.1 facility codes (glibc's LOG_* values ÷ 8). */
export const FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;
export type Facility = keyof typeof FACILITIES;

const SEVERITY_NAMES = ['debug', 'info', 'notice', 'warning', 'err', 'crit', 'alert', 'emerg'] as const;
const FACILITY_NAMES = ['auth', 'authpriv', 'cron', 'daemon', 'ftp', 'kern', 'lpr', 'mail', 'news', 'syslog', 'user', 'uucp',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'] as const;

const severity = (description: string) => Type.Unsafe<Severity>({ type: 'string', enum: [...SEVERITY_NAMES], default: 'info', description });

export const schema = Type.Object(
  {
    log_level: severity('Entries are sent only when their severity is at least this one (`debug` sends all).'),
    successful_severity: severity('Severity of entries for responses with a status below 400.'),
    client_errors_severity: severity('Severity of entries for responses with a 4xx status.'),
    server_errors_severity: severity('Severity of entries for responses with a 5xx status.'),
    custom_fields_by_lua: customFieldsByLua(),
    facility: Type.Unsafe<Facility>({
      type: 'string',
      enum: [...FACILITY_NAMES],
      default: 'user',
      description: 'The facility is used by the operating system to decide how to handle each log message.',
    }),
  },
  { additionalProperties: false },
);

export type SyslogConfig = Static<typeof schema>;

export const check = (config: SyslogConfig): Record<string, unknown> => refuseLua(config);
