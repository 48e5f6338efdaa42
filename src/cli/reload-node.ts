/**
 * What a running node does on SIGHUP (`portcullis reload`, Kong's `kong
 * reload`): read kong.conf again (the file named in <prefix>/.kong_env, which
 * `reload -c FILE` may have changed) with the node's own flags and
 * environment, then
 *   - apply what can change live: log_level, declarative_config (DB-less:
 *     the file is read again; an invalid file is refused and the running
 *     configuration kept), and a rebuild from the store;
 *   - name every other changed setting in a warning: it takes effect on
 *     `portcullis restart` (listeners, database, workers… are bound at start).
 * Connections are never dropped: the new runtime is swapped in beside the
 * live one, as for any configuration change.
 */
import process from 'node:process';
import type { Logger } from 'pino';
import type { GatewayHandle } from '../gateway.ts';
import { readRunningEnv } from './prefix.ts';
import { loadSettings, type FlagMap, type Settings } from './settings.ts';

export interface ReloadContext {
  flags: FlagMap;
  settings: Settings;
  gateway: GatewayHandle;
  log: Logger;
  /** With several workers: hands a new log level to every worker (the primary's own is set here). */
  setWorkersLogLevel?: (level: string) => void;
}

/** Settings applied live by a reload (everything else needs a restart). */
const LIVE = new Set<keyof Settings>(['logLevel', 'declarativeConfig', 'confPath']);

export function reloadOnSignal(ctx: ReloadContext): void {
  let current = ctx.settings;
  let running: Promise<void> = Promise.resolve();
  process.on('SIGHUP', () => {
    // One reload at a time, in order: a second HUP during a reload runs after it.
    running = running.then(async () => {
      try {
        current = await reloadOnce(ctx, current);
      } catch (err) {
        ctx.log.error({ err: (err as Error).message }, 'reload failed; the running configuration is kept');
      }
    });
  });
}

async function reloadOnce(ctx: ReloadContext, current: Settings): Promise<Settings> {
  const confPath = readRunningEnv(current.dataDir)?.confPath ?? current.confPath;
  const flags: FlagMap = { ...ctx.flags };
  if (confPath !== null) flags.conf = confPath;
  const { settings: next, warnings } = loadSettings(flags);
  for (const w of warnings) ctx.log.warn(w);
  // `start` sets pg.autoMigrate itself; it is not a setting of the file.
  const comparable = (s: Settings, k: keyof Settings): string => JSON.stringify(k === 'pg' ? { ...s.pg, autoMigrate: undefined } : s[k]);
  const needsRestart = (Object.keys(next) as Array<keyof Settings>).filter((k) => !LIVE.has(k) && comparable(next, k) !== comparable(current, k));
  if (next.logLevel !== current.logLevel) {
    ctx.log.level = next.logLevel;
    ctx.setWorkersLogLevel?.(next.logLevel);
  }
  await ctx.gateway.reloadConfiguration(next.declarativeConfig);
  if (needsRestart.length > 0) ctx.log.warn({ settings: needsRestart }, 'reload: these settings changed and take effect on restart (portcullis restart)');
  ctx.log.info({ conf: confPath }, 'reloaded');
  // Settings that need a restart stay as running, so the next reload reports them again.
  const kept: Settings = { ...current, logLevel: next.logLevel, declarativeConfig: next.declarativeConfig, confPath };
  return kept;
}
