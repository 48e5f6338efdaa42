/**
 * The `openid-connect` plugin: Kong's configuration names and defaults (Kong
 * Gateway 3.15 reference), Kong's priority (1050, before every other
 * authentication plugin) and Kong's decisions, over a real OpenID Provider.
 * docs/plugins/openid-connect.md has the coverage table and the walkthrough.
 */
import type { PluginModule } from '../types.ts';
import { access, headerFilter } from './access.ts';
import { OIDC_ADMIN_ROUTES } from './admin.ts';
import { compileOidc, type CompiledOidc } from './compile.ts';
import { configSchema, type OidcConfig } from './schema.ts';
import { checkConfig } from './unsupported.ts';

export const OIDC_PRIORITY = 1050;


export const openidConnect: PluginModule<OidcConfig, CompiledOidc> = {
  name: 'openid-connect',
  adminRoutes: OIDC_ADMIN_ROUTES,
  version: '3.15.0',
  priority: OIDC_PRIORITY,
  schema: configSchema,
  check: checkConfig,
  compile: compileOidc,
  close: (compiled) => compiled.sessions.close(),
  access,
  header_filter: (ctx) => headerFilter(ctx),
};
