/**
 * my-header: a template Portcullis plugin. Copy this directory, rename the
 * plugin, and change the schema and the phases (docs/plugins/writing-plugins.md).
 *
 * It sets one response header on every response of the routes, services or
 * consumers it is attached to, and can refuse requests that lack a header.
 */
import { Type, pdk, type PluginModule, type RequestContext } from 'portcullis/plugin';

/** `config`: Kong's rules apply (defaults filled in, unknown fields refused, errors per field). */
const schema = Type.Object(
  {
    header: Type.String({ default: 'X-Hello', description: 'Response header to set.' }),
    value: Type.String({ default: 'world', description: 'Its value.' }),
    require_header: Type.Union([Type.String(), Type.Null()], { default: null, description: 'Refuse (401) requests without this header.' }),
  },
  { additionalProperties: false },
);

interface Config {
  header: string;
  value: string;
  require_header: string | null;
}

/** What compile() returns is handed to the phases on every request: do per-config work once, here. */
interface Compiled {
  readonly header: string;
  readonly value: string;
  readonly required: string | null;
}

const plugin: PluginModule<Config, Compiled> = {
  name: 'my-header',
  version: '1.0.0',
  priority: 1000, // higher runs first (Kong's PRIORITY)
  schema,
  compile(config) {
    return Object.freeze({ header: config.header.toLowerCase(), value: config.value, required: config.require_header?.toLowerCase() ?? null });
  },
  access(ctx: RequestContext, conf: Compiled) {
    if (conf.required !== null && pdk.request.getHeader(ctx, conf.required) === undefined) {
      pdk.response.exit(ctx, 401, { message: `missing ${conf.required}` });
      return;
    }
    pdk.response.setHeader(ctx, conf.header, conf.value);
  },
};

export default plugin;
