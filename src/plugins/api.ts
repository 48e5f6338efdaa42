/**
 * The plugin API for Portcullis users (`import … from 'portcullis/plugin'`):
 * the PluginModule contract, the PDK, and TypeBox's `Type` to write a config
 * schema. A custom plugin loaded by Portcullis resolves 'portcullis/plugin' to
 * this file wherever it lives (custom/load.ts registers a resolve hook), so a
 * plugin directory needs no npm install to run. docs/plugins/writing-plugins.md
 * documents it; what is exported here is the stable surface.
 */
export { Type, type Static } from '@sinclair/typebox';
export * as pdk from '../pdk/index.ts';
export type { PluginModule, CompileEnv, PhaseName, PluginScopes } from './types.ts';
export type { RequestContext } from '../core/context.ts';
