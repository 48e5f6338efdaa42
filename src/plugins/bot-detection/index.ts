/**
 * bot-detection (Kong's plugin of the same name): refuse requests whose
 * User-Agent looks like a bot. kong/plugins/bot-detection/handler.lua, Kong
 * Gateway 3.9.3: PRIORITY 2500, access phase.
 *
 * The User-Agent (stripped of surrounding whitespace) is matched against
 * `allow` first (a match lets it through), then `deny`, then Kong's built-in
 * bot patterns (./rules.ts); a deny or bot match is refused with
 * kong.response.error(403) ("Forbidden"). No User-Agent: let through. More
 * than one User-Agent header: 400 "Only one User-Agent header allowed".
 * Results are cached per configuration, keyed by the raw header, in an LRU of
 * 10^4 entries (Kong's per-worker lrucache, UA_CACHE_SIZE).
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { compilePcre } from './regex.ts';
import { BOTS } from './rules.ts';
import { check, schema, type BotDetectionConfig } from './schema.ts';

const MATCH_EMPTY = 0;
const MATCH_ALLOW = 1;
const MATCH_DENY = 2;
const MATCH_BOT = 3;
type Match = typeof MATCH_EMPTY | typeof MATCH_ALLOW | typeof MATCH_DENY | typeof MATCH_BOT;

const UA_CACHE_SIZE = 10_000;

export interface CompiledBotDetection {
  readonly allow: readonly RegExp[];
  readonly deny: readonly RegExp[];
  /** Mutable per-instance LRU (Map insertion order): user agent → match. */
  readonly cache: Map<string, Match>;
}

/** Lua's %s: ASCII whitespace (kong.tools.string.strip). */
const strip = (s: string): string => s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');

export function examineAgent(userAgent: string, conf: Pick<CompiledBotDetection, 'allow' | 'deny'>): Match {
  const ua = strip(userAgent);
  for (const rule of conf.allow) if (rule.test(ua)) return MATCH_ALLOW;
  for (const rule of conf.deny) if (rule.test(ua)) return MATCH_DENY;
  for (const rule of BOTS) if (rule.test(ua)) return MATCH_BOT;
  return MATCH_EMPTY;
}

function access(ctx: RequestContext, conf: CompiledBotDetection): void {
  // Node keeps only the first of repeated User-Agent headers in req.headers; the raw list has them all.
  const values = pdk.request.getHeaderValues(ctx, 'user-agent');
  if (values.length > 1) return pdk.response.error(ctx, 400, 'Only one User-Agent header allowed');
  const userAgent = values[0];
  if (userAgent === undefined) return;

  let match = conf.cache.get(userAgent);
  if (match === undefined) {
    match = examineAgent(userAgent, conf);
    if (conf.cache.size >= UA_CACHE_SIZE) conf.cache.delete(conf.cache.keys().next().value!);
  } else {
    conf.cache.delete(userAgent);
  }
  conf.cache.set(userAgent, match);

  if (match > MATCH_ALLOW) pdk.response.error(ctx, 403);
}

export const botDetection: PluginModule<BotDetectionConfig, CompiledBotDetection> = {
  name: 'bot-detection',
  version: VERSION,
  priority: 2500,
  schema,
  scopes: { consumer: false, route: true, service: true },
  protocols: ['grpc', 'grpcs', 'http', 'https', 'ws', 'wss'],
  check,
  compile(config) {
    return Object.freeze({
      allow: (config.allow ?? []).map(compilePcre),
      deny: (config.deny ?? []).map(compilePcre),
      cache: new Map<string, Match>(),
    });
  },
  access,
};

export default botDetection;
