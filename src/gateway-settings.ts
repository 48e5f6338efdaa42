/**
 * Plugin-visible gateway settings from the CLI settings. Its own module so a
 * cluster worker can compute them without loading the Admin API and store
 * stack that src/gateway.ts pulls in.
 */
import type { Logger } from 'pino';
import { generateSecret } from './shared/secret.ts';
import type { Settings } from './cli/settings.ts';
import type { GatewaySettings } from './plugins/types.ts';

export function gatewaySettingsFrom(settings: Settings, log: Logger, inheritedSecret?: string): GatewaySettings {
  let sessionSecret = settings.sessionSecret ?? inheritedSecret ?? null;
  let generated = false;
  if (sessionSecret === null) {
    sessionSecret = generateSecret();
    generated = true;
    log.warn('no session secret configured (PORTCULLIS_SESSION_SECRET): one was generated for this node; every node of a multi-node deployment MUST share one, or sessions break across nodes and restarts');
  }
  return { sessionSecret, sessionSecretGenerated: generated || inheritedSecret !== undefined, redisUrl: settings.redisUrl, trustedIps: settings.trustedIps };
}
