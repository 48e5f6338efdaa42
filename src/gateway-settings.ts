/**
 * Plugin-visible gateway settings from the CLI settings. Its own module so a
 * cluster worker can compute them without loading the Admin API and store
 * stack that src/gateway.ts pulls in.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { generateSecret } from './shared/secret.ts';
import type { Settings } from './settings.ts';
import type { GatewaySettings } from './plugins/types.ts';
import type { ProxyOptions } from './core/server.ts';

export function gatewaySettingsFrom(settings: Settings, log: Logger, inheritedSecret?: string): GatewaySettings {
  let sessionSecret = settings.sessionSecret ?? inheritedSecret ?? null;
  let generated = false;
  if (sessionSecret === null) {
    sessionSecret = generateSecret();
    generated = true;
    log.warn('no session secret configured (PORTCULLIS_SESSION_SECRET): one was generated for this node; every node of a multi-node deployment MUST share one, or sessions break across nodes and restarts');
  }
  return {
    sessionSecret,
    sessionSecretGenerated: generated || inheritedSecret !== undefined,
    redisUrl: settings.redisUrl,
    trustedIps: settings.trustedIps,
    memCacheSize: settings.memCacheSize,
    sharedDicts: settings.sharedDicts,
    tracingInstrumentations: settings.tracingInstrumentations,
    tracingSamplingRate: settings.tracingSamplingRate,
  };
}

/** The proxy listener settings from the CLI settings (single process and cluster workers alike). */
export async function proxySettingsFrom(settings: Settings): Promise<ProxyOptions['settings']> {
  const defaultCert =
    settings.sslCert !== null && settings.sslCertKey !== null
      ? { cert: await readFile(settings.sslCert, 'utf8'), key: await readFile(settings.sslCertKey, 'utf8') }
      : undefined;
  return {
    trustedIps: settings.trustedIps,
    realIpHeader: settings.realIpHeader,
    realIpRecursive: settings.realIpRecursive,
    serverTokens: settings.headers.serverTokens,
    latencyTokens: settings.headers.latencyTokens,
    maxHeaderSize: settings.maxHeaderSize,
    defaultCert,
  };
}
