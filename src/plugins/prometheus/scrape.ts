/**
 * What the scrape needs of the configured prometheus plugins (read by the
 * gateway when it renders /metrics, src/gateway.ts): whether any is
 * configured (Kong's IS_PROMETHEUS_ENABLED) and whether any asks for the
 * upstream target health (exporter.lua: "turned on if at least one of the
 * plugin turns upstream_health_metrics on").
 */
import type { PluginEntity } from '../../schema/entities/types.ts';

export interface ScrapeOptions {
  configured: boolean;
  upstreamHealth: boolean;
}

export function scrapeOptions(plugins: readonly PluginEntity[]): ScrapeOptions {
  let configured = false;
  let upstreamHealth = false;
  for (const p of plugins) {
    if (p.name !== 'prometheus' || p.enabled === false) continue;
    configured = true;
    if ((p.config as { upstream_health_metrics?: unknown }).upstream_health_metrics === true) upstreamHealth = true;
  }
  return { configured, upstreamHealth };
}
