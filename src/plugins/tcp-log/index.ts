/**
 * tcp-log (Kong's plugin of the same name, PRIORITY 7, log phase): each
 * request's serialized entry (src/pdk/log.ts) as one JSON line on a TCP (or
 * TLS) connection to host:port (kong/plugins/tcp-log/handler.lua).
 *
 * As Kong: sent after the response, in the background (Kong: a 0-delay
 * timer); a connection is kept `keepalive` ms when idle and reused (Kong's
 * cosocket pool), a new one opened when all are busy; `timeout` bounds the
 * connect, the TLS handshake and the write; TLS does not verify the server's
 * certificate (Kong's `sslhandshake(false, tls_sni, false)`) and sends
 * `tls_sni` as SNI when set. An entry that cannot be sent is dropped, not
 * retried (Kong), with an error line ("failed to connect to host:port: …"),
 * written at most once per 10 s per destination while failures go on.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Logger } from 'pino';
import type { RequestContext } from '../../core/context.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { FailureLog, serializedJson } from '../log-plugin.ts';
import { check, schema, type TcpLogConfig } from './schema.ts';

interface CompiledTcpLog {
  readonly pool: Pool;
  readonly log: Logger;
}

/** Idle connections to one destination (host, port, tls, sni, timeout, keepalive). */
class Pool {
  private readonly conf: TcpLogConfig;
  private readonly idle: Socket[] = [];
  readonly failures = new FailureLog();

  constructor(conf: TcpLogConfig) {
    this.conf = conf;
  }

  private where(): string {
    return `${this.conf.host}:${this.conf.port}`;
  }

  private open(): Promise<Socket> {
    const { host, port, timeout, tls, tls_sni: sni } = this.conf;
    return new Promise((resolve, reject) => {
      const socket: Socket = tls
        ? tlsConnect({ host, port, rejectUnauthorized: false, servername: sni ?? undefined, timeout })
        : tcpConnect({ host, port, timeout });
      const ready = tls ? 'secureConnect' : 'connect';
      const fail = (err: Error) => {
        socket.destroy();
        reject(new Error(`failed to ${tls ? 'perform TLS handshake' : 'connect'} to ${this.where()}: ${err.message}`));
      };
      const onTimeout = () => fail(new Error('timeout'));
      socket.once('error', fail);
      socket.once('timeout', onTimeout);
      socket.once(ready, () => {
        socket.off('error', fail);
        socket.off('timeout', onTimeout);
        socket.on('error', () => socket.destroy()); // an idle connection's error: it is dropped from the pool on close
        // Idle longer than `keepalive` (Kong's setkeepalive): closed. A write's own timeout is handled in send().
        socket.on('timeout', () => {
          if (this.idle.includes(socket)) socket.destroy();
        });
        socket.once('close', () => this.forget(socket));
        socket.unref(); // a pooled log connection never keeps a stopping worker alive
        resolve(socket);
      });
    });
  }

  private forget(socket: Socket): void {
    const i = this.idle.indexOf(socket);
    if (i !== -1) this.idle.splice(i, 1);
  }

  async send(line: string): Promise<void> {
    let socket = this.idle.pop();
    if (socket !== undefined && socket.destroyed) socket = undefined;
    socket ??= await this.open();
    socket.setTimeout(this.conf.timeout);
    await new Promise<void>((resolve, reject) => {
      const onTimeout = () => reject(new Error('timeout'));
      socket.once('timeout', onTimeout);
      socket.write(line, (err) => {
        socket.off('timeout', onTimeout);
        if (err) reject(err);
        else resolve();
      });
    }).catch((err: Error) => {
      socket.destroy();
      throw new Error(`failed to send data to ${this.where()}: ${err.message}`);
    });
    // Kept for reuse: idle for at most `keepalive` ms (Kong's setkeepalive).
    socket.setTimeout(Math.max(1, this.conf.keepalive));
    this.idle.push(socket);
  }
}

const pools = new Map<string, Pool>();

function poolFor(conf: TcpLogConfig): Pool {
  const key = JSON.stringify([conf.host, conf.port, conf.tls, conf.tls_sni, conf.timeout, conf.keepalive]);
  let pool = pools.get(key);
  if (pool === undefined) pools.set(key, (pool = new Pool(conf)));
  return pool;
}

function log(ctx: RequestContext, conf: CompiledTcpLog): void {
  const line = `${serializedJson(ctx)}\n`;
  conf.pool.send(line).catch((err: Error) => conf.pool.failures.error(conf.log, err.message));
}

export const tcpLog: PluginModule<TcpLogConfig, CompiledTcpLog> = {
  name: 'tcp-log',
  version: VERSION,
  priority: 7,
  schema,
  check,
  compile(config, env) {
    return Object.freeze({ pool: poolFor(config), log: env.log });
  },
  log,
};

export default tcpLog;
