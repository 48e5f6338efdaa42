/**
 * A newcomer runs the whole zero-trust walkthrough with one command (issue 4):
 * `npm run demo`, a browser, the two demo users, Ctrl-C. This test does exactly
 * that — the real npm script in its own process group, headless Chromium, the
 * printed URL — and then checks that Ctrl-C leaves no process and no port behind.
 *
 * Ports: the demo's defaults (9000/9100/8000/8001) may be in use on a developer
 * machine or by a parallel test, so every run picks four free ports by binding
 * port 0 first and passes them with the demo's --*-port flags.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { freePorts } from '../helpers/ports.ts';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Response } from 'playwright-core';
import { launchBrowser, login, browserAvailable, type Browser, type Page } from '../helpers/browser.ts';
import { DEMO_PASSWORD } from '../helpers/idp.ts';
import { waitFor } from '../helpers/wait.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE_BIN_DIR = join(REPO, 'node_modules', '.bin');

interface DemoProcess {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<DemoProcess>();

after(() => {
  // Safety net only: a passing test has already stopped its demo with SIGINT.
  for (const d of running) killGroup(d.pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

async function portIsFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `npm run demo -- <flags>` as a newcomer types it, in its own process group (like a terminal job). */
function runDemo(ports: { idp: number; echo: number; proxy: number; admin: number }): DemoProcess {
  const child = spawn('npm', [
    'run', 'demo', '--',
    '--idp-port', String(ports.idp),
    '--echo-port', String(ports.echo),
    '--proxy-port', String(ports.proxy),
    '--admin-port', String(ports.admin),
  ], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // npm puts node_modules/.bin first on PATH for the script anyway; keeping it
    // first here too means `npm` itself is never confused by a stray PATH entry.
    env: { ...process.env, PATH: `${NODE_BIN_DIR}:${process.env.PATH ?? ''}`, NO_COLOR: '1' },
  });
  assert.ok(child.pid !== undefined, 'npm started');
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { err += c; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const d: DemoProcess = { child, pid: child.pid, stdout: () => out, stderr: () => err, exited };
  running.add(d);
  return d;
}

/** Resolves with the URL printed after "Open in a browser:", or fails with everything the demo said. */
async function waitForBrowserUrl(d: DemoProcess, timeoutMs: number): Promise<string> {
  let exit: { code: number | null } | null = null;
  void d.exited.then((e) => { exit = e; });
  const printed = (): RegExpExecArray | null => /Open in a browser:\s+(\S+)/.exec(d.stdout());
  await waitFor('the demo to print its URL', () => printed() !== null || exit !== null, timeoutMs).catch(() => undefined);
  const m = printed();
  if (m !== null) return m[1] as string;
  throw new Error(`the demo never printed "Open in a browser" (exit: ${JSON.stringify(exit)})\nstdout:\n${d.stdout()}\nstderr:\n${d.stderr()}`);
}

/** Tracks the status of the last top-level document the page navigated to. */
function lastDocument(page: Page): () => Response | null {
  let last: Response | null = null;
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) last = r;
  });
  return () => last;
}

async function waitForBody(page: Page, re: RegExp, timeoutMs = 15_000): Promise<string> {
  let text = '';
  const shown = async (): Promise<boolean> => re.test((text = (await page.textContent('body').catch(() => '')) ?? ''));
  if (await waitFor(`the page to show ${re}`, shown, timeoutMs, 50).then(() => true, () => false)) return text;
  throw new Error(`page ${page.url()} never showed ${re}; it shows:\n${text.slice(0, 2000)}`);
}

async function stopAndCheckNothingLeft(d: DemoProcess, ports: number[]): Promise<void> {
  // Ctrl-C in a terminal signals the whole foreground process group.
  killGroup(d.pid, 'SIGINT');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref());
  const result = await Promise.race([d.exited, timeout]);
  assert.notEqual(result, 'timeout', `the demo did not stop within 20 s of Ctrl-C\nstdout:\n${d.stdout()}\nstderr:\n${d.stderr()}`);
  assert.deepEqual(result, { code: 0, signal: null }, `the demo exits 0 after Ctrl-C\nstderr:\n${d.stderr()}`);
  assert.match(d.stdout(), /demo stopped/);
  // Every process of the group is gone (a short grace period for the kernel to reap them).
  await waitFor('the demo\'s processes to be reaped', () => !killGroup(d.pid, 0), 3_000, 10).catch(() => undefined);
  assert.throws(() => process.kill(-d.pid, 0), (err: NodeJS.ErrnoException) => err.code === 'ESRCH', 'no process of the demo is left behind');
  running.delete(d);
  for (const port of ports) assert.ok(await portIsFree(port), `port ${port} is free again after the demo stopped`);
}

test('npm run demo: Blog_with_scope sees the echoed request with its bearer token, Blog_without_scope gets 403, Ctrl-C stops everything', {
  skip: browserAvailable() ? false : 'chromium not installed',
  timeout: 180_000,
}, async () => {
  const [idp, echo, proxy, admin] = (await freePorts(4)) as [number, number, number, number];
  const d = runDemo({ idp, echo, proxy, admin });
  const url = await waitForBrowserUrl(d, 60_000);
  // The plugin's redirect_uri is http://localhost:<proxy>/oidc, so the browser must start on localhost.
  assert.equal(url, `http://localhost:${proxy}/oidc`);
  assert.match(d.stdout(), /Blog_with_scope/);
  assert.match(d.stdout(), /Blog_without_scope/);
  assert.match(d.stdout(), new RegExp(`http://127\\.0\\.0\\.1:${idp}/realms/demo`));

  let browser: Browser | null = null;
  try {
    browser = await launchBrowser();

    const allowed = await browser.newContext();
    const page = await allowed.newPage();
    const doc = lastDocument(page);
    await page.goto(url);
    assert.match(page.url(), new RegExp(`^http://127\\.0\\.0\\.1:${idp}/realms/demo/`), 'the gateway sent the browser to the demo IdP');
    await login(page, 'Blog_with_scope', DEMO_PASSWORD);
    const body = await waitForBody(page, /"authorization":\s*"Bearer ey/);
    assert.equal(doc()?.status(), 200);
    const echoed = JSON.parse(body) as { method: string; path: string; headers: Record<string, string> };
    assert.equal(echoed.method, 'GET');
    assert.equal(echoed.path, '/anything');
    assert.match(echoed.headers.authorization ?? '', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, 'the upstream receives the access token as a bearer JWT');
    assert.ok(new URL(page.url()).pathname.startsWith('/oidc'), `ended on the gateway route, not ${page.url()}`);
    // Logged in: the session cookie alone reaches the upstream again, without the IdP.
    const again = await page.goto(url);
    assert.equal(again?.status(), 200);
    assert.match(await again?.text() ?? '', /"authorization":\s*"Bearer ey/);
    await allowed.close();

    const denied = await browser.newContext();
    const page2 = await denied.newPage();
    const doc2 = lastDocument(page2);
    await page2.goto(url);
    await login(page2, 'Blog_without_scope', DEMO_PASSWORD);
    await waitForBody(page2, /Forbidden/);
    assert.equal(doc2()?.status(), 403, 'a user without the kong_api_access scope is refused');
    assert.doesNotMatch(await page2.textContent('body') ?? '', /"authorization"/, 'the upstream was not reached');
    await denied.close();
  } finally {
    await browser?.close();
  }

  await stopAndCheckNothingLeft(d, [idp, echo, proxy, admin]);
});

test('npm run demo with the IdP port taken exits 1 and says which port and what needed it', { timeout: 120_000 }, async () => {
  const [idp, echo, proxy, admin] = (await freePorts(4)) as [number, number, number, number];
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(idp, '127.0.0.1', () => resolve()));
  try {
    const d = runDemo({ idp, echo, proxy, admin });
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000).unref());
    const result = await Promise.race([d.exited, timeout]);
    if (result === 'timeout') {
      killGroup(d.pid, 'SIGKILL');
      assert.fail(`the demo kept running with its IdP port taken\nstdout:\n${d.stdout()}`);
    }
    assert.equal(result.code, 1, `exit code 1\nstderr:\n${d.stderr()}`);
    assert.match(d.stderr(), new RegExp(`port ${idp}\\b.*IdP`), 'stderr names the taken port and the IdP');
    assert.doesNotMatch(d.stdout(), /Open in a browser/, 'nothing claims to be running');
    running.delete(d);
    for (const port of [echo, proxy, admin]) assert.ok(await portIsFree(port), `port ${port} was not left bound`);
  } finally {
    await new Promise<void>((r) => squatter.close(() => r()));
  }
});
