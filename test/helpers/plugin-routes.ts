/**
 * One in-process gateway and echo upstream for a plugin's test file, with a
 * service `svc` in front of the echo, and a fresh route carrying the plugin
 * for each call of `route(config)` (its proxy URL is returned once every
 * worker serves it). Registers the file's before/after hooks.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from './gateway.ts';
import { startEcho, type Echo } from './echo.ts';

export interface PluginRoutes {
  readonly gw: TestGateway;
  readonly echo: Echo;
  /** A new route `/<prefix><n>` on `svc` with `plugin` configured by `config`; its proxy URL. */
  route(config: Record<string, unknown>): Promise<string>;
}

export function usePluginRoutes(plugin: string, prefix: string): PluginRoutes {
  let gw: TestGateway | null = null;
  let echo: Echo | null = null;
  let n = 0;
  before(async () => {
    echo = await startEcho();
    gw = await startGateway({ logLevel: 'warn' });
    assert.equal((await gw.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
  });
  after(async () => {
    await gw?.close();
    await echo?.close();
  });
  return {
    get gw() {
      return gw!;
    },
    get echo() {
      return echo!;
    },
    async route(config) {
      const name = `${prefix}${++n}`;
      assert.equal((await gw!.admin('POST', '/services/svc/routes', { name, paths: [`/${name}`] })).status, 201);
      const r = await gw!.admin('POST', `/routes/${name}/plugins`, { name: plugin, config });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await gw!.settle();
      return `${gw!.proxyUrl}/${name}`;
    },
  };
}
