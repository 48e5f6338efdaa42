/**
 * docs/plugins/writing-plugins.md, "From an empty directory to a working
 * plugin": the commands between its `commands:start` / `commands:end`
 * markers, run as written in an empty directory — fewer than 10 of them —
 * with only the addresses swapped for free loopback ports and a local echo
 * upstream (the machine is shared), and `portcullis` on the PATH. The last
 * command's answer must carry the plugin's header.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEcho, type Echo } from '../../helpers/echo.ts';

const run = promisify(execFile);
const REPO = new URL('../../../', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The documented commands: one per line, a heredoc is part of its command. */
export function documentedCommands(md: string): string[] {
  const block = md.split('<!-- commands:start -->')[1]?.split('<!-- commands:end -->')[0];
  assert.ok(block !== undefined, 'no commands block in writing-plugins.md');
  const lines = block.replace(/^\s*```sh\n/, '').replace(/```\s*$/, '').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let cmd = lines[i]!;
    if (cmd.trim() === '') continue;
    const here = /<<'(\w+)'/.exec(cmd);
    if (here !== null) {
      while (i + 1 < lines.length && lines[i + 1] !== here[1]) cmd += '\n' + lines[++i];
      cmd += '\n' + lines[++i];
    }
    out.push(cmd);
  }
  return out;
}

let echo: Echo | undefined;
let stop: (() => Promise<unknown>) | undefined;

after(async () => {
  await stop?.();
  await echo?.close();
});

test('writing-plugins.md: an empty directory to a working custom plugin in under 10 commands', { timeout: 300_000 }, async () => {
  const commands = documentedCommands(await readFile(join(REPO, 'docs/plugins/writing-plugins.md'), 'utf8'));
  assert.ok(commands.length < 10, `${commands.length} commands`);
  echo = await startEcho();
  const [proxyPort, adminPort] = [await freePort(), await freePort()];
  const home = await mkdtemp(join(tmpdir(), 'portcullis-writing-plugins-'));
  const bin = await mkdtemp(join(tmpdir(), 'portcullis-bin-'));
  await writeFile(join(bin, 'portcullis'), `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, 'bin/portcullis.js')}" "$@"\n`);
  await chmod(join(bin, 'portcullis'), 0o755);
  const local = (c: string): string =>
    c
      .replaceAll('http://127.0.0.1:8001', `http://127.0.0.1:${adminPort}`)
      .replaceAll('http://127.0.0.1:8000', `http://127.0.0.1:${proxyPort}`)
      .replaceAll('https://httpbin.org/anything', echo!.url);
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KONG_') && !k.startsWith('PORTCULLIS_'))),
    PATH: `${bin}:${process.env.PATH}`,
    KONG_PROXY_LISTEN: `127.0.0.1:${proxyPort}`,
    KONG_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
  };
  const setup = commands.slice(0, -1).map(local).join('\n');
  stop = () => run('portcullis', ['stop', '-p', join(home, 'my-gateway', 'portcullis')], { env }).catch(() => undefined);
  const out = await run('bash', ['-e', '-c', setup], { cwd: home, env, timeout: 180_000 });
  assert.match(out.stdout, /"name":"my-header"/, out.stdout);
  // The configuration reaches the workers a moment after the Admin API answered: repeat the last command until it does.
  const last = local(commands.at(-1)!);
  let answer = '';
  for (let i = 0; i < 100 && !/x-hello: friend/i.test(answer); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    answer = (await run('bash', ['-e', '-c', last], { cwd: join(home, 'my-gateway'), env })).stdout;
  }
  assert.match(answer, /^HTTP\/1\.1 200/);
  assert.match(answer, /x-hello: friend/i);
  assert.match(answer, /"x-forwarded-path": "\/hello"/); // the echo upstream answered
});
