/**
 * Kong's `tracing_instrumentations` (kong.conf): which spans the node
 * records. `off` (Kong's default) records none — an opentelemetry plugin then
 * only propagates trace headers; `all` records every kind we have. Kong's
 * `db_query` and `dns_query` are refused by the settings reader: the proxy
 * path here makes no database query (the configuration is compiled into the
 * runtime) and resolves names in the balancer's own DNS cache, so neither
 * would ever produce a span.
 */

/** Bits of an instrumentation mask. The request (root) span is recorded whenever the mask is non-zero, as in Kong. */
export const INSTRUMENT = Object.freeze({
  request: 1,
  router: 2,
  http_client: 4,
  balancer: 8,
  plugin_rewrite: 16,
  plugin_access: 32,
  plugin_header_filter: 64,
});

export type InstrumentationName = keyof typeof INSTRUMENT;

/** Every instrumentation (`all`). */
export const ALL_INSTRUMENTS = Object.values(INSTRUMENT).reduce((a, b) => a | b, 0);

/** Kong names we know but refuse, with why. */
export const UNSUPPORTED_INSTRUMENTS: Readonly<Record<string, string>> = {
  db_query: 'the proxy path makes no database queries (the configuration is compiled into each worker)',
  dns_query: "names are resolved by the balancer's DNS cache outside requests",
};

/**
 * Parse Kong's comma-separated list into a mask (0 = off). Throws an Error
 * naming the setting and the value for anything else.
 */
export function parseInstrumentations(value: string): number {
  const names = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (names.length === 0) throw new Error(`tracing_instrumentations: expected off, all or a list of instrumentations (got '${value}')`);
  if (names.includes('off')) {
    if (names.length > 1) throw new Error(`tracing_instrumentations: 'off' cannot be combined with other values (got '${value}')`);
    return 0;
  }
  if (names.includes('all')) {
    if (names.length > 1) throw new Error(`tracing_instrumentations: 'all' cannot be combined with other values (got '${value}')`);
    return ALL_INSTRUMENTS;
  }
  let mask = INSTRUMENT.request;
  for (const n of names) {
    const why = UNSUPPORTED_INSTRUMENTS[n];
    if (why !== undefined) throw new Error(`tracing_instrumentations: '${n}' is not supported: ${why}`);
    const bit = (INSTRUMENT as Record<string, number>)[n];
    if (bit === undefined) {
      throw new Error(`tracing_instrumentations: unknown instrumentation '${n}' (expected off, all, or any of ${Object.keys(INSTRUMENT).join(', ')})`);
    }
    mask |= bit;
  }
  return mask;
}

/** Kong's `tracing_sampling_rate`: a number from 0 to 1 (default 0.01). */
export function parseSamplingRate(value: string): number {
  const n = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 1)) throw new Error(`tracing_sampling_rate: expected a number from 0 to 1 (got '${value}')`);
  return n;
}
