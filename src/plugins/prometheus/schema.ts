/**
 * `config` of the prometheus plugin, with Kong's names, defaults and
 * descriptions (kong/plugins/prometheus/schema.lua, Kong Gateway 3.9.3).
 */
import { Type, type Static } from '@sinclair/typebox';

export const schema = Type.Object(
  {
    per_consumer: Type.Boolean({
      default: false,
      description: 'A boolean value that determines if per-consumer metrics should be collected. If enabled, the `kong_http_requests_total` and `kong_bandwidth_bytes` metrics fill in the consumer label when available.',
    }),
    status_code_metrics: Type.Boolean({
      default: false,
      description: 'A boolean value that determines if status code metrics should be collected. If enabled, `http_requests_total`, `stream_sessions_total` metrics will be exported.',
    }),
    ai_metrics: Type.Boolean({
      default: false,
      description: 'A boolean value that determines if ai metrics should be collected. If enabled, the `ai_llm_requests_total`, `ai_llm_cost_total` and `ai_llm_tokens_total` metrics will be exported.',
    }),
    latency_metrics: Type.Boolean({
      default: false,
      description: 'A boolean value that determines if latency metrics should be collected. If enabled, `kong_latency_ms`, `upstream_latency_ms` and `request_latency_ms` metrics will be exported.',
    }),
    bandwidth_metrics: Type.Boolean({
      default: false,
      description: 'A boolean value that determines if bandwidth metrics should be collected. If enabled, `bandwidth_bytes` and `stream_sessions_total` metrics will be exported.',
    }),
    upstream_health_metrics: Type.Boolean({
      default: false,
      description: 'A boolean value that determines if upstream metrics should be collected. If enabled, `upstream_target_health` metric will be exported.',
    }),
  },
  { additionalProperties: false },
);

export type PrometheusConfig = Static<typeof schema>;
