/**
 * `config` of the opentelemetry plugin, with Kong's names, types and defaults
 * (kong/plugins/opentelemetry/schema.lua and
 * kong/observability/tracing/propagation/schema.lua, Kong Gateway 3.9.3).
 *
 * Deprecated fields are accepted as Kong accepts them: `endpoint` (shorthand
 * of traces_endpoint), `batch_span_count` / `batch_flush_delay` (translated
 * into the queue, with Kong's warning, by the queue's getPluginParams) and
 * `header_type` (translated into `propagation` when no propagation option is
 * set, as Kong's get_plugin_params). `logs_endpoint` is refused (check()):
 * OpenTelemetry logs export is not implemented.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { queueSchema } from '../../core/queue.ts';
import { typedefs } from '../../schema/typedefs.ts';
import { EXTRACTORS, FORMATS } from './propagation.ts';

function nullable<T extends TSchema>(schema: T, description: string) {
  return Type.Union([schema, Type.Null()], { default: null, description });
}

function strEnum<const V extends readonly string[]>(values: V, opts: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...opts });
}

export const HEADER_TYPES = ['preserve', 'ignore', 'b3', 'b3-single', 'w3c', 'jaeger', 'ot', 'aws', 'gcp', 'datadog'] as const;

/** Kong's typedefs.propagation (kong/observability/tracing/propagation/schema.lua). */
const propagationSchema = Type.Object(
  {
    extract: Type.Optional(
      nullable(
        Type.Array(strEnum(EXTRACTORS)),
        'Header formats used to extract tracing context from incoming requests. If multiple values are specified, the first one found will be used for extraction. If left empty, Kong will not extract any tracing context information from incoming requests and generate a trace with no parent and a new trace ID.',
      ),
    ),
    clear: Type.Optional(
      nullable(
        Type.Array(typedefs.headerName()),
        'Header names to clear after context extraction. This allows to extract the context from a certain header and then remove it from the request, useful when extraction and injection are performed on different header formats and the original header should not be sent to the upstream. If left empty, no headers are cleared.',
      ),
    ),
    inject: Type.Optional(
      nullable(
        Type.Array(strEnum(['preserve', ...FORMATS] as const)),
        'Header formats used to inject tracing context. The value `preserve` will use the same header format as the incoming request. If multiple values are specified, all of them will be used during injection. If left empty, Kong will not inject any tracing context information in outgoing requests.',
      ),
    ),
    default_format: strEnum(FORMATS, {
      description:
        'The default header format to use when extractors did not match any format in the incoming headers and `inject` is configured with the value: `preserve`. This can happen when no tracing header was found in the request, or the incoming tracing header formats were not included in `extract`.',
    }),
  },
  { additionalProperties: false, default: { default_format: 'w3c' }, kong: { type: 'record' } },
);

export const schema = Type.Object(
  {
    traces_endpoint: Type.Optional(nullable(typedefs.url({ kong: { referenceable: true } }), 'A string representing a URL, such as https://example.com/path/to/resource?q=search.')),
    logs_endpoint: Type.Optional(nullable(typedefs.url({ kong: { referenceable: true } }), 'A string representing a URL, such as https://example.com/path/to/resource?q=search.')),
    headers: Type.Optional(
      nullable(
        Type.Record(Type.String(), Type.String({ kong: { referenceable: true } }), { kong: { type: 'map', keysCheck: 'header_name' } }),
        'The custom headers to be added in the HTTP request sent to the OTLP server. This setting is useful for adding the authentication headers (token) for the APM backend.',
      ),
    ),
    resource_attributes: Type.Optional(
      nullable(
        Type.Record(Type.String(), Type.String({ minLength: 1 }), { kong: { type: 'map' } }),
        'Attributes to add to the OpenTelemetry resource object, following the spec for Semantic Attributes. \nThe following attributes are automatically added:\n- `service.name`: The name of the service (default: `kong`).\n- `service.version`: The version of Kong Gateway.\n- `service.instance.id`: The node ID of Kong Gateway.\n\nYou can use this property to override default attribute values. For example, to override the default for `service.name`, you can specify `{ "service.name": "my-service" }`.',
      ),
    ),
    queue: Type.Object(queueSchema.properties, { additionalProperties: false, default: { max_batch_size: 200 }, kong: { type: 'record' } }),
    batch_span_count: Type.Optional(nullable(Type.Integer(), 'The number of spans to be sent in a single batch.')),
    batch_flush_delay: Type.Optional(nullable(Type.Integer(), 'The delay, in seconds, between two consecutive batches.')),
    connect_timeout: typedefs.timeout({ default: 1000, description: 'An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.' }),
    send_timeout: typedefs.timeout({ default: 5000, description: 'An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.' }),
    read_timeout: typedefs.timeout({ default: 5000, description: 'An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.' }),
    http_response_header_for_traceid: Type.Optional(
      nullable(Type.String(), 'Specifies a custom header for the `trace_id`. If set, the plugin sets the corresponding header in the response.'),
    ),
    header_type: strEnum(HEADER_TYPES, {
      default: 'preserve',
      description:
        'All HTTP requests going through the plugin are tagged with a tracing HTTP request. This property codifies what kind of tracing header the plugin expects on incoming requests.',
    }),
    sampling_rate: Type.Optional(
      nullable(
        Type.Number({ minimum: 0, maximum: 1 }),
        'Tracing sampling rate for configuring the probability-based sampler. When set, this value supersedes the global `tracing_sampling_rate` setting from kong.conf.',
      ),
    ),
    propagation: propagationSchema,
    // -- deprecated shorthand (Kong: shorthand_fields), translated by compile()
    endpoint: Type.Optional(Type.Union([typedefs.url({ kong: { referenceable: true } }), Type.Null()], { description: 'Deprecated: use config.traces_endpoint instead.' })),
  },
  { additionalProperties: false },
);

export type OpenTelemetryConfig = Static<typeof schema>;

/** Kong's entity checks, and the field we refuse. */
export function check(config: OpenTelemetryConfig): Record<string, unknown> {
  const errors: Record<string, unknown> = {};
  if (config.logs_endpoint != null) {
    errors['logs_endpoint'] = 'OpenTelemetry logs export is not supported by Portcullis; use traces_endpoint (traces are exported)';
  }
  if (config.traces_endpoint == null && config.endpoint == null && config.logs_endpoint == null) {
    errors['@entity'] = ["at least one of these fields must be non-empty: 'config.traces_endpoint', 'config.logs_endpoint'"];
  }
  return errors;
}
