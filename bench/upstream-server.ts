/**
 * The fixed upstream when nginx is not installed: a tiny Node HTTP server in
 * its own process that answers every request with the same small JSON body,
 * and `GET /__bench/status` with the number of requests served so far.
 *
 *   node bench/upstream-server.ts PORT
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const body = Buffer.from('{"ok":true}\n');
let served = 0;

const server = createServer({ keepAliveTimeout: 75_000 }, (req, res) => {
  if (req.url === '/__bench/status') {
    const text = `requests ${served}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(text.length) });
    res.end(text);
    return;
  }
  served++;
  // Drain any request body before answering, as a real upstream would.
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
  res.end(body);
});
server.maxRequestsPerSocket = 0;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
