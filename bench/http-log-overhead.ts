/**
 * http-log's cost on throughput (issue 16): a --workers 2 node, a plain route
 * and one with http-log (queue.max_batch_size 100) to a local receiver,
 * measured with wrk in alternating rounds. Run: node bench/http-log-overhead.ts
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import { startClusterGateway } from '../test/helpers/cluster-gateway.ts';
import { startEcho } from '../test/helpers/echo.ts';

const seconds = Number(process.env['SECONDS_PER_RUN'] ?? 5);
const rounds = Number(process.env['ROUNDS'] ?? 3);
let received = 0;
const rx = createServer((req, res) => {
  // Counted, not parsed: the receiver shares the machine (and the echo upstream's process).
  req.on('data', (c: Buffer) => {
    for (let i = c.indexOf('"request":{'); i !== -1; i = c.indexOf('"request":{', i + 1)) received++;
  });
  req.on('end', () => res.end());
});
await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
const echo = await startEcho();
const gw = await startClusterGateway({ workers: 2 });
await gw.admin('POST', '/services', { name: 'svc', url: echo.url });
await gw.admin('POST', '/services/svc/routes', { name: 'plain', paths: ['/plain'] });
await gw.admin('POST', '/services/svc/routes', { name: 'logged', paths: ['/logged'] });
await gw.admin('POST', '/routes/logged/plugins', {
  name: 'http-log',
  config: { http_endpoint: `http://127.0.0.1:${(rx.address() as { port: number }).port}/`, queue: { max_batch_size: 100, max_coalescing_delay: 1 } },
});
await gw.settle();
// Not execFileSync: the echo upstream and the receiver run in this process.
async function wrk(path: string): Promise<{ rps: number; requests: number }> {
  const { stdout: out } = await promisify(execFile)('wrk', ['-t2', '-c50', `-d${seconds}s`, `${gw.proxyUrl}${path}`], { encoding: 'utf8' });
  if (process.env['DEBUG']) console.log(out);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  const requests = Number(/(\d+) requests in/.exec(out)![1]);
  return { rps, requests };
}
await wrk('/plain');
await wrk('/logged'); // warm-up
const plain: number[] = [];
const logged: number[] = [];
let sent = 0;
for (let i = 0; i < rounds; i++) {
  plain.push((await wrk('/plain')).rps);
  const l = await wrk('/logged');
  logged.push(l.rps);
  sent += l.requests;
}
await new Promise((r) => setTimeout(r, 3000));
const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
console.log(JSON.stringify({ plain, logged, plainAvg: Math.round(avg(plain)), loggedAvg: Math.round(avg(logged)), ratio: +(avg(logged) / avg(plain)).toFixed(3), receivedAtLeast: received, measuredLoggedRequests: sent }));
await gw.close();
await echo.close();
rx.close();
