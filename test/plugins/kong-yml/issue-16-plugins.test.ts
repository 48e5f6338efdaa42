/**
 * Issue 16's "done when": a kong.yml using every plugin of the issue loads unchanged — observability
 * (prometheus, opentelemetry), logging (http-log, file-log, tcp-log, udp-log, syslog) and traffic
 * (response-transformer, request-termination, ip-restriction, request-size-limiting,
 * response-ratelimiting, redirect, bot-detection) — each with the configuration of Kong's plugin page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../src/plugins/index.ts';
import { parseDeclarative } from '../../../src/store/declarative/index.ts';

const YML = `
_format_version: "3.0"
services:
  - name: orders
    url: http://127.0.0.1:9/
    routes:
      - name: orders
        paths: [/orders]
        plugins:
          - name: response-transformer
            config: { add: { headers: ["x-gateway:portcullis"] }, remove: { headers: [server] } }
          - name: ip-restriction
            config: { allow: [10.0.0.0/8, "2001:db8::/32"], status: 403, message: "Your IP address is not allowed" }
          - name: request-size-limiting
            config: { allowed_payload_size: 128, size_unit: megabytes, require_content_length: false }
          - name: response-ratelimiting
            config: { limits: { videos: { minute: 10 } }, policy: local }
          - name: bot-detection
            config: { deny: ["curl"] }
      - name: maintenance
        paths: [/maintenance]
        plugins:
          - name: request-termination
            config: { status_code: 503, message: "down for maintenance" }
      - name: moved
        paths: [/old]
        plugins:
          - name: redirect
            config: { location: https://example.com/new, status_code: 301, keep_incoming_path: true }
plugins:
  - name: prometheus
    config: { per_consumer: true, status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true }
  - name: opentelemetry
    config: { traces_endpoint: http://127.0.0.1:4318/v1/traces, resource_attributes: { service.name: portcullis }, propagation: { default_format: w3c } }
  - name: http-log
    config: { http_endpoint: http://127.0.0.1:9/logs, method: POST, timeout: 1000, keepalive: 1000, queue: { max_batch_size: 100, max_coalescing_delay: 1 } }
  - name: file-log
    config: { path: /tmp/portcullis-file-log.json, reopen: true }
  - name: tcp-log
    config: { host: 127.0.0.1, port: 9, timeout: 10000, keepalive: 60000 }
  - name: udp-log
    config: { host: 127.0.0.1, port: 9, timeout: 10000 }
  - name: syslog
    config: { log_level: info, successful_severity: info, client_errors_severity: warning, server_errors_severity: err, facility: user }
`;

test('a kong.yml with every issue-16 plugin, each as on its Kong page, loads unchanged', () => {
  const parsed = parseDeclarative(YML, { format: 'yaml' });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  const names = [...parsed.config.plugins.map((p) => p.name)].sort();
  assert.deepEqual(names, [
    'bot-detection', 'file-log', 'http-log', 'ip-restriction', 'opentelemetry', 'prometheus', 'redirect',
    'request-size-limiting', 'request-termination', 'response-ratelimiting', 'response-transformer', 'syslog', 'tcp-log', 'udp-log',
  ]);
  const http = parsed.config.plugins.find((p) => p.name === 'http-log')!;
  assert.equal((http.config as { queue: { max_batch_size: number } }).queue.max_batch_size, 100, 'values are kept, defaults filled around them');
});
