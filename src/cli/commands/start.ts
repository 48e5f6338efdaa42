/**
 * `portcullis start`: one process (workers = 1) or a cluster primary with N
 * proxy workers, Kong's way (issue 11, item 2):
 *   - refuses to start when a node already runs at the prefix;
 *   - on PostgreSQL, refuses an un-bootstrapped or outdated database with
 *     Kong's advice, unless --run-migrations (the embedded SQLite default
 *     keeps migrating itself: it has no separate install step);
 *   - writes the pid file and .kong_env to the prefix for stop/quit/reload/health;
 *   - SIGTERM/SIGINT/SIGQUIT drain and stop, SIGHUP reloads (`portcullis reload`);
 *   - nginx_daemon = on: the command returns once the node is up, which keeps
 *     running in the background with its output in <prefix>/logs/error.log.
 */
import process from 'node:process';
import cluster from 'node:cluster';
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings, type FlagMap, type LoadedSettings, type Settings } from '../settings.ts';
import { bundledPluginNames, registerCustomPlugin, setEnabledPlugins } from '../../plugins/index.ts';
import { configureLogger, type LogLevel } from '../../shared/log.ts';
import { logDir, removeRunning, runningPid, writeRunning } from '../prefix.ts';
import { SettingsError } from '../settings-error.ts';
import { collectGarbage } from '../../shared/collect-garbage.ts';
import { PRIMARY_EXEC, PRIMARY_V8_FLAG, cpuProfiled, youngGenerationChosen } from '../../shared/primary-exec.ts';

/**
 * A cluster primary compiles every plugin's schema at start, which grows V8's
 * young generation to its default maximum, and V8 keeps it: 61.5 MB of a
 * 207–216 MB primary that serves only the Admin API afterwards. The flag must
 * be on the command line (v8.setFlagsFromString after start does not shrink
 * it, measured), so the primary replaces itself (same pid, `process.execve`)
 * with `--max-semi-space-size=2` before loading anything heavy: 205 → 163 MB
 * idle (docs/benchmarks.md, "Where the memory goes"). A size the operator chose
 * (execArgv or NODE_OPTIONS) wins; PORTCULLIS_PRIMARY_EXEC stops a loop.
 */
function reexecPrimaryWithSmallYoungGeneration(): void {
  // An IPC channel (a daemonizing parent waiting for "started") would not survive the exec: that
  // parent starts the primary with the flag itself (daemonize below).
  if (process.env[PRIMARY_EXEC] === '1' || typeof process.execve !== 'function' || process.channel !== undefined) return;
  if (!primaryFlagWanted()) return;
  process.execve(process.execPath, [process.execPath, PRIMARY_V8_FLAG, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, [PRIMARY_EXEC]: '1' });
}

/**
 * False when the operator chose the young generation's size (execArgv or NODE_OPTIONS), and under a CPU
 * profiler (`--cpu-prof`, `--prof`): its sampler signals the thread with SIGPROF, and a signal still pending
 * at the exec reaches the new image before Node handles it, which kills the primary at start ("exit
 * SIGPROF", seen with `npm run bench -- --cpu-prof`); the old image's profile would be lost as well.
 */
function primaryFlagWanted(): boolean {
  return !youngGenerationChosen(process.execArgv) && !cpuProfiled(process.execArgv);
}

/** Set in the detached child of `start` with nginx_daemon = on. */
const DAEMON_CHILD = 'PORTCULLIS_DAEMON_CHILD';
/** How long `start` waits for a detached node to come up. */
const DAEMON_START_DEADLINE_MS = 60_000;

/**
 * Apply the `plugins` setting. A name we do not ship is a custom plugin: it is
 * loaded now, before any configuration goes live (src/plugins/custom/load.ts:
 * kong-js-pluginserver directories, `plugins_path`, npm packages); one that is
 * found nowhere is an error naming it (Kong: "… enabled but not installed").
 */
export async function applyPluginsSetting(settings: Settings): Promise<void> {
  if (settings.plugins === null) return setEnabledPlugins(null);
  const bundled = bundledPluginNames();
  const names = settings.plugins.filter((p) => p !== 'bundled' && !bundled.includes(p));
  if (names.length > 0) {
    const { loadCustomPlugins } = await import('../../plugins/custom/load.ts');
    try {
      const loaded = await loadCustomPlugins({ names, pluginServers: settings.pluginServers, pluginsPath: settings.pluginsPath, cwd: process.cwd() });
      for (const { plugin, source } of loaded) registerCustomPlugin(plugin, source);
    } catch (err) {
      if (err instanceof SettingsError) throw err;
      const msg = (err as Error).message;
      throw new SettingsError(msg.includes('is enabled but not installed') ? `${msg} (bundled plugins: ${bundled.join(', ')})` : msg);
    }
  }
  // Bundled ones stay lazily loaded; with `bundled` in the list every one of them is enabled.
  setEnabledPlugins(settings.plugins.includes('bundled') ? [...bundled, ...names] : settings.plugins);
}

export async function start(flags: FlagMap, argv: readonly string[]): Promise<number> {
  let loaded: LoadedSettings;
  try {
    loaded = loadSettings(flags);
    const s = loaded.settings;
    if (cluster.isPrimary && s.workers > 1 && !(s.daemon && process.env[DAEMON_CHILD] !== '1')) reexecPrimaryWithSmallYoungGeneration();
    await applyPluginsSetting(loaded.settings);
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const { settings } = loaded;
  const log = configureLogger(settings.logLevel as LogLevel);

  if (cluster.isWorker) {
    const { runWorker } = await import('../../cluster.ts');
    await runWorker(settings, log);
    return -1;
  }
  for (const w of loaded.warnings) log.warn(w);

  const other = runningPid(settings.dataDir);
  if (other !== null && other !== process.pid) {
    process.stderr.write(`Error: Portcullis is already running in ${settings.dataDir} (pid ${other})\n`);
    return 1;
  }
  if (settings.daemon && process.env[DAEMON_CHILD] !== '1') return daemonize(settings, argv);

  if (settings.database === 'postgres') {
    if (flags['run-migrations'] === true) {
      const code = await runMigrationsForStart(settings);
      if (code !== 0) return code;
    }
    settings.pg.autoMigrate = false;
  }

  // Only the primary (or single process) loads the store and Admin API stack; a worker stays lean.
  const { startGateway, StartupError } = await import('../../gateway.ts');
  const { startPrimary } = await import('../../cluster.ts');
  const { closePools } = await import('../../core/proxy/pools.ts');
  try {
    let gateway;
    let close: () => Promise<void>;
    let setWorkersLogLevel: ((level: string) => void) | undefined;
    if (settings.workers > 1) {
      const handle = await startPrimary(settings, log);
      gateway = handle.gateway;
      setWorkersLogLevel = (level) => handle.setLogLevel(level);
      close = () => handle.close();
      report(gateway.adminAddresses(), settings.proxyListen, settings, log);
    } else {
      const gw = await startGateway(settings, { logger: log });
      // One process for everything: what start-up left behind is collected before the traffic comes (src/shared/collect-garbage.ts).
      await collectGarbage();
      gateway = gw;
      close = () => gw.close();
      report(gw.adminAddresses(), gw.proxyAddresses(), settings, log);
    }
    writeRunning(settings, process.pid, settings.adminListen.map((l, i) => ({ ...l, port: gateway.adminAddresses()[i]?.port ?? l.port })));
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: draining in-flight requests');
      void close()
        .then(() => closePools())
        .then(
          () => {
            removeRunning(settings.dataDir, process.pid);
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ err: (err as Error).message }, 'error while stopping');
            removeRunning(settings.dataDir, process.pid);
            process.exit(1);
          },
        );
    };
    // `on`, not `once`: a repeated signal (npm forwarding Ctrl-C, systemd plus a manual kill) must not kill the drain.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGQUIT', () => stop('SIGQUIT'));
    const { reloadOnSignal } = await import('../reload-node.ts');
    reloadOnSignal({ flags, settings, gateway, log, setWorkersLogLevel });
    if (process.env[DAEMON_CHILD] === '1' && process.send) {
      process.send({ type: 'portcullis:started' });
      process.disconnect();
    }
    return -1;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(`Error: address already in use: ${(e as { address?: string }).address ?? ''}:${(e as { port?: number }).port ?? ''} — is another gateway running?\n`);
      return 1;
    }
    if (err instanceof StartupError) {
      process.stderr.write(`Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** `start --run-migrations`: bootstrap a new database, or run new migrations (Kong's behaviour). */
async function runMigrationsForStart(settings: Settings): Promise<number> {
  const { migrationsCommand } = await import('./migrations.ts');
  const state = await migrationsCommand('status-code', settings, {});
  if (state === 3) return migrationsCommand('bootstrap', settings, {});
  if (state === 5) return migrationsCommand('up', settings, {});
  return state === 0 ? 0 : state;
}

/**
 * nginx_daemon = on: run this same command detached, with output to
 * <prefix>/logs/error.log, and return once it says it started (or failed).
 */
async function daemonize(settings: Settings, argv: readonly string[]): Promise<number> {
  mkdirSync(logDir(settings.dataDir), { recursive: true });
  const logPath = join(logDir(settings.dataDir), 'error.log');
  const out = openSync(logPath, 'a');
  const primaryFlag = settings.workers > 1 && primaryFlagWanted();
  const child = spawn(process.execPath, [...(primaryFlag ? [PRIMARY_V8_FLAG] : []), ...process.execArgv, process.argv[1]!, ...argv], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...process.env, [DAEMON_CHILD]: '1', ...(primaryFlag ? { [PRIMARY_EXEC]: '1' } : {}) },
  });
  const outcome = await new Promise<'started' | 'exited' | 'timeout'>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), DAEMON_START_DEADLINE_MS);
    child.on('message', (m: unknown) => {
      if ((m as { type?: string } | null)?.type === 'portcullis:started') {
        clearTimeout(timer);
        resolve('started');
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve('exited');
    });
  });
  if (outcome === 'started') {
    if (child.connected) child.disconnect();
    child.unref();
    process.stdout.write(`Portcullis started (pid ${child.pid}, prefix ${settings.dataDir}, log ${logPath})\n`);
    return 0;
  }
  if (outcome === 'timeout') child.kill('SIGTERM');
  const tail = readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
  process.stderr.write(`Error: Portcullis did not start${outcome === 'timeout' ? ` within ${DAEMON_START_DEADLINE_MS / 1000} s` : ''}; ${logPath} ends with:\n${tail}\n`);
  return 1;
}

function report(admin: Array<{ host: string; port: number }>, proxy: Array<{ host: string; port: number; ssl: boolean }>, settings: { database: string; workers: number }, log: ReturnType<typeof configureLogger>): void {
  log.info(
    {
      proxy: proxy.map((p) => `${p.ssl ? 'https' : 'http'}://${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`),
      admin: admin.map((a) => `http://${a.host}:${a.port}`),
      database: settings.database,
      workers: settings.workers,
    },
    'Portcullis started',
  );
}
