/**
 * udp-log (Kong's plugin of the same name, PRIORITY 8, log phase): each
 * request's serialized entry (src/pdk/log.ts) as one JSON datagram (no
 * newline) to host:port (kong/plugins/udp-log/handler.lua), sent after the
 * response, in the background.
 *
 * Kong opens a socket per entry; we keep one socket per destination and
 * worker. `timeout` bounds the send: the host name's lookup and the hand-over
 * to the kernel (a UDP send never waits for the receiver). A failed send
 * (unresolvable host, an entry larger than a datagram can carry, a timeout)
 * drops the entry with an error line, at most once per 10 s per destination.
 */
import { Buffer } from 'node:buffer';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { RequestContext } from '../../core/context.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { FailureLog, serializedJson } from '../log-plugin.ts';
import { check, schema, type UdpLogConfig } from './schema.ts';

interface Destination {
  readonly socket: Socket;
  readonly failures: FailureLog;
}

interface CompiledUdpLog {
  readonly host: string;
  readonly port: number;
  readonly timeout: number;
  readonly dest: Destination;
  readonly log: Logger;
}

const destinations = new Map<string, Destination>();

function destinationFor(host: string, port: number): Destination {
  const key = `${host}|${port}`;
  let d = destinations.get(key);
  if (d === undefined) {
    const socket = createSocket(isIPv6(host.replace(/^\[|\]$/g, '')) ? 'udp6' : 'udp4');
    socket.on('error', () => {
      /* reported per send */
    });
    socket.unref();
    destinations.set(key, (d = { socket, failures: new FailureLog() }));
  }
  return d;
}

function log(ctx: RequestContext, conf: CompiledUdpLog): void {
  const payload = Buffer.from(serializedJson(ctx));
  const where = `${conf.host}:${conf.port}`;
  let settled = false;
  const timer = setTimeout(() => {
    settled = true;
    conf.dest.failures.error(conf.log, `could not send data to ${where}: timeout`);
  }, conf.timeout);
  timer.unref();
  conf.dest.socket.send(payload, conf.port, conf.host.replace(/^\[|\]$/g, ''), (err) => {
    clearTimeout(timer);
    if (settled) return;
    if (err) conf.dest.failures.error(conf.log, `could not send data to ${where}: ${err.message}`);
  });
}

export const udpLog: PluginModule<UdpLogConfig, CompiledUdpLog> = {
  name: 'udp-log',
  version: VERSION,
  priority: 8,
  schema,
  check,
  compile(config, env) {
    return Object.freeze({ host: config.host, port: config.port, timeout: config.timeout, dest: destinationFor(config.host, config.port), log: env.log });
  },
  log,
};

export default udpLog;
