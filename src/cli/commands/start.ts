/** `portcullis start`: one process (--workers 1) or a cluster primary with N proxy workers. */
import cluster from 'node:cluster';
import { resolveSettings, SettingsError, type FlagMap } from '../settings.ts';
import { configureLogger, type LogLevel } from '../../shared/log.ts';
import { runWorker } from '../../cluster.ts';
import { closePools } from '../../core/proxy/pools.ts';

export async function start(flags: FlagMap): Promise<number> {
  let settings;
  try {
    settings = resolveSettings(flags);
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`portcullis: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = configureLogger(settings.logLevel as LogLevel);

  if (cluster.isWorker) {
    await runWorker(settings, log);
    return -1;
  }
  // Only the primary (or single process) loads the store and Admin API stack; a worker stays lean.
  const { startGateway, StartupError } = await import('../../gateway.ts');
  const { startPrimary } = await import('../../cluster.ts');
  try {
    let close: () => Promise<void>;
    if (settings.workers > 1) {
      const handle = await startPrimary(settings, log);
      close = () => handle.close();
      report(handle.gateway.adminAddresses(), settings.proxyListen, settings, log);
    } else {
      const gw = await startGateway(settings, { logger: log });
      close = () => gw.close();
      report(gw.adminAddresses(), gw.proxyAddresses(), settings, log);
    }
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: draining in-flight requests');
      void close()
        .then(() => closePools())
        .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'error while stopping');
          process.exit(1);
        },
      );
    };
    // `on`, not `once`: a repeated signal (npm forwarding Ctrl-C, systemd plus a manual kill) must not kill the drain.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    return -1;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(`portcullis: address already in use: ${(e as { address?: string }).address ?? ''}:${(e as { port?: number }).port ?? ''} — is another gateway running?\n`);
      return 1;
    }
    if (err instanceof StartupError) {
      process.stderr.write(`portcullis: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
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
