/**
 * The proxy's own HTTP/1.1 work per request (src/core/downstream,
 * src/core/upstream): reading the client's request head in the fast lane,
 * building the upstream request head, and parsing the upstream's response
 * head — each on the headers a browser and nginx actually send.
 *
 *   node bench/micro/http1.ts [--json]
 */
import { readRequestHead } from '../../src/core/downstream/request-head.ts';
import { requestHead } from '../../src/core/upstream/h1-request-head.ts';
import { ResponseParser, type ResponseSink } from '../../src/core/upstream/h1-response.ts';
import type { HeaderValues, UpstreamRequest } from '../../src/core/upstream/types.ts';
import { benchSync, consume, printResults, type MicroResult } from './harness.ts';

const REQUEST_HEAD = [
  'GET /api/orders?page=2 HTTP/1.1',
  'Host: api.example.test',
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench',
  'Accept: application/json',
  'Accept-Encoding: gzip, deflate, br',
  'Accept-Language: en-GB,en;q=0.9',
  'Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl',
  'Cookie: a=1',
  'Cookie: b=2',
  'Connection: keep-alive',
].join('\r\n');

const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 21:38:06 GMT\r\nContent-Type: application/json\r\n' +
    'Content-Length: 12\r\nConnection: keep-alive\r\nCache-Control: no-store\r\nSet-Cookie: s=1; Path=/\r\n\r\n{"ok":true}\n',
  'latin1',
);

const UPSTREAM_HEADERS: HeaderValues = {
  host: '127.0.0.1:8080',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) bench',
  accept: 'application/json',
  'accept-encoding': 'gzip, deflate, br',
  'x-forwarded-for': '127.0.0.1',
  'x-forwarded-proto': 'http',
  'x-forwarded-host': 'api.example.test',
  'x-forwarded-port': '8000',
  'x-forwarded-path': '/api/orders',
  'x-real-ip': '127.0.0.1',
  via: '1.1 portcullis/0.1.0',
  'x-kong-request-id': 'a35cdaec582ab5510000000000000001',
};

const UPSTREAM_REQUEST: UpstreamRequest = { method: 'GET', path: '/api/orders?page=2', headers: UPSTREAM_HEADERS, body: null, bodyLength: -1, upgrade: null };

class Sink implements ResponseSink {
  status = 0;
  bytes = 0;
  onHead(status: number, headers: HeaderValues): boolean {
    this.status = status;
    consume(headers);
    return true;
  }
  onBody(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    return true;
  }
  onComplete(): void {}
}

export function runHttp1(minMs = 1000): MicroResult[] {
  const parser = new ResponseParser(64 * 1024);
  const sink = new Sink();
  return [
    benchSync('fast lane: read a 10-field request head', () => readRequestHead(REQUEST_HEAD), { minMs }),
    benchSync('upstream: build a 12-field request head', () => requestHead(UPSTREAM_REQUEST), { minMs }),
    benchSync('upstream: parse an 8-field response + body', () => {
      parser.reset(false);
      parser.execute(RESPONSE, 0, sink);
      return sink.status;
    }, { minMs }),
  ];
}

if (import.meta.main) {
  const results = runHttp1();
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(results)}\n`);
  else printResults('HTTP/1.1 heads', results);
}
