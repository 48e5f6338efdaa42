/**
 * file-log (Kong's plugin of the same name, PRIORITY 9, log phase): each
 * request's serialized entry (src/pdk/log.ts) as one JSON line appended to
 * `path` (created with mode 0644 if missing, kong/plugins/file-log/handler.lua).
 *
 * Kong writes with a blocking write(2) on a cached descriptor. We append
 * through a SonicBoom stream per path and worker (asynchronous, in order, no
 * line split: each write(2) carries whole lines on an O_APPEND descriptor, so
 * the workers' lines never interleave inside a line); the request does not wait
 * for the disk. `reopen: true` closes and reopens the file before every entry
 * (for log rotation by renaming, as in Kong). A file that cannot be opened is
 * reported ("failed to open the file: …", at most once per 10 s) and the entry
 * dropped; the next entry tries again.
 */
import process from 'node:process';
import pino, { type Logger } from 'pino';
import type { RequestContext } from '../../core/context.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { FailureLog, serializedJson } from '../log-plugin.ts';
import { check, schema, type FileLogConfig } from './schema.ts';

interface CompiledFileLog {
  readonly path: string;
  readonly reopen: boolean;
  readonly log: Logger;
}

interface OpenFile {
  stream: ReturnType<typeof pino.destination>;
  failed: boolean;
}

const files = new Map<string, OpenFile>();
const failures = new Map<string, FailureLog>();

function failureLog(path: string): FailureLog {
  let f = failures.get(path);
  if (f === undefined) failures.set(path, (f = new FailureLog()));
  return f;
}

function open(path: string, log: Logger): OpenFile {
  const stream = pino.destination({ dest: path, append: true, mkdir: false, sync: false, mode: 0o644 });
  const file: OpenFile = { stream, failed: false };
  stream.on('error', (err: Error) => {
    file.failed = true;
    if (files.get(path) === file) files.delete(path);
    failureLog(path).error(log, `failed to open the file: ${err.message}`);
  });
  files.set(path, file);
  return file;
}

function log(ctx: RequestContext, conf: CompiledFileLog): void {
  const line = `${serializedJson(ctx)}\n`;
  let file = files.get(conf.path);
  if (file === undefined || file.failed) file = open(conf.path, conf.log);
  else if (conf.reopen) file.stream.reopen();
  file.stream.write(line);
}

export const fileLog: PluginModule<FileLogConfig, CompiledFileLog> = {
  name: 'file-log',
  version: VERSION,
  priority: 9,
  schema,
  check,
  compile(config, env) {
    return Object.freeze({ path: config.path, reopen: config.reopen, log: env.log });
  },
  log,
};

/** Written lines reach the files before the process exits. */
process.once('exit', () => {
  for (const { stream, failed } of files.values()) {
    if (failed) continue;
    try {
      stream.flushSync();
    } catch {
      /* the file went away: nothing more to do at exit */
    }
  }
});

export default fileLog;
