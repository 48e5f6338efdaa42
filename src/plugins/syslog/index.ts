/**
 * syslog (Kong's plugin of the same name, PRIORITY 4, log phase): each
 * request's serialized entry (src/pdk/log.ts) as JSON to the local syslog
 * daemon, with ident `kong`, the configured `facility`, and the severity for
 * its status class (`successful_severity` < 400, `client_errors_severity`
 * 4xx, `server_errors_severity` 5xx); entries less severe than `log_level`
 * are not sent (kong/plugins/syslog/handler.lua).
 *
 * Kong calls syslog(3), which writes to the local socket /dev/log. Node
 * cannot open a Unix datagram socket, so each worker keeps one util-linux
 * `logger` process (`--prio-prefix`: each line carries its own `<PRI>`),
 * which writes the same RFC 3164 datagram glibc does
 * (`<PRI>Mmm dd hh:mm:ss kong[pid]: {json}`, pid = the worker's). The socket
 * is /dev/log, or PORTCULLIS_SYSLOG_SOCKET when set. Where there is no such
 * socket (a container without a syslog daemon), glibc drops messages
 * silently; we say so instead: an error line naming the socket when the
 * plugin is configured and, while entries are dropped, at most one per 10 s.
 */
import process from 'node:process';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { RequestContext } from '../../core/context.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { FailureLog, serializedJson } from '../log-plugin.ts';
import { check, FACILITIES, schema, SEVERITIES, type Severity, type SyslogConfig } from './schema.ts';

const IDENT = 'kong';
/** Largest entry the logger child sends whole (it splits longer lines otherwise). */
const MAX_MESSAGE = 1 << 20;

interface CompiledSyslog {
  readonly threshold: number;
  readonly facility: number;
  readonly successful: number;
  readonly clientErrors: number;
  readonly serverErrors: number;
  readonly log: Logger;
}

function socketPath(): string {
  return process.env['PORTCULLIS_SYSLOG_SOCKET'] || '/dev/log';
}

/** Whether `path` is a socket, looked up at most once a second (not a stat per request). */
let checked = { path: '', at: 0, exists: false };
function socketExists(path: string): boolean {
  const now = Date.now();
  if (checked.path === path && now - checked.at < 1000) return checked.exists;
  let exists = false;
  try {
    exists = statSync(path).isSocket();
  } catch {
    exists = false;
  }
  checked = { path, at: now, exists };
  return exists;
}

const failures = new FailureLog();
let child: ChildProcess | null = null;
let childSocket = '';
let lastSpawn = 0;

/** The worker's logger process for `path`, started (again) when needed; null while it cannot run. */
function writer(path: string, log: Logger): ChildProcess | null {
  if (child !== null && childSocket === path && child.exitCode === null && !child.killed) return child;
  if (child !== null) child.kill();
  child = null;
  const now = Date.now();
  if (now - lastSpawn < 1000) return null; // a failing logger is not restarted more than once a second
  lastSpawn = now;
  const p = spawn('logger', ['--prio-prefix', '-t', IDENT, `--id=${process.pid}`, '-u', path, '--socket-errors=on', '--size', String(MAX_MESSAGE)], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  p.stderr!.setEncoding('utf8');
  p.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-500)));
  p.on('error', (err) => failures.error(log, `syslog: cannot run logger (util-linux) to write to ${path}: ${err.message}; entries are dropped`));
  p.on('exit', (code) => {
    if (child === p) child = null;
    if (code !== 0 && code !== null) failures.error(log, `syslog: logger exited (${code}) writing to ${path}: ${stderr.trim()}; entries are dropped`);
  });
  p.stdin!.on('error', () => {
    /* the exit handler reports it */
  });
  p.unref();
  (p.stdin as unknown as { unref?: () => void }).unref?.();
  child = p;
  childSocket = path;
  return p;
}

function severityFor(status: number, conf: CompiledSyslog): number {
  return status >= 500 ? conf.serverErrors : status >= 400 ? conf.clientErrors : conf.successful;
}

function log(ctx: RequestContext, conf: CompiledSyslog): void {
  const severity = severityFor(ctx.finalStatus, conf);
  if (severity > conf.threshold) return; // Kong: LOG_PRIORITIES[severity] <= LOG_PRIORITIES[log_level]
  const path = socketPath();
  if (!socketExists(path)) {
    failures.error(conf.log, `syslog: no syslog socket at ${path} (no syslog daemon?); entries are dropped. Set PORTCULLIS_SYSLOG_SOCKET to another socket`);
    return;
  }
  const w = writer(path, conf.log);
  if (w === null) return;
  w.stdin!.write(`<${conf.facility * 8 + severity}>${serializedJson(ctx)}\n`);
}

const level = (s: Severity) => SEVERITIES[s];

export const syslog: PluginModule<SyslogConfig, CompiledSyslog> = {
  name: 'syslog',
  version: VERSION,
  priority: 4,
  schema,
  check,
  compile(config, env) {
    const path = socketPath();
    if (!socketExists(path)) env.log.error(`syslog: no syslog socket at ${path}; entries will be dropped until one exists (set PORTCULLIS_SYSLOG_SOCKET to use another)`);
    return Object.freeze({
      threshold: level(config.log_level),
      facility: FACILITIES[config.facility],
      successful: level(config.successful_severity),
      clientErrors: level(config.client_errors_severity),
      serverErrors: level(config.server_errors_severity),
      log: env.log,
    });
  },
  log,
};

export default syslog;
