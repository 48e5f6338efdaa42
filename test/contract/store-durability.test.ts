/**
 * An acknowledged write survives kill -9: a child process inserts a row into
 * a SQLite store, reports the acknowledgement, and is SIGKILLed at once, with
 * no chance to close the database or flush anything. Reopening the file must
 * find the row (WAL + synchronous=FULL).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

const CHILD = `
import { openSqliteStore } from ${JSON.stringify(join(root, 'src/store/sqlite/index.ts'))};
import { prepareEntity } from ${JSON.stringify(join(root, 'src/schema/validate.ts'))};
const store = await openSqliteStore(process.argv.at(-1));
for (let i = 0; i < 20; i++) {
  const r = prepareEntity('consumers', { username: 'durable-' + i }, { mode: 'insert' });
  if (!r.ok) throw new Error(r.message);
  await store.insert('consumers', r.row);
  process.stdout.write('ack ' + r.row.id + '\\n');
}
setInterval(() => {}, 1000); // stay alive until killed
`;

describe('sqlite store durability', () => {
  it('keeps every acknowledged write after the process is killed with SIGKILL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-kill9-'));
    try {
      const path = join(dir, 'portcullis.db');
      const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const acked: string[] = [];
      await new Promise<void>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
          if (acked.length >= 20) {
            // Kill right after the last acknowledgement: no close(), no checkpoint.
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('exit', (code, signal) => {
          if (signal !== 'SIGKILL') reject(new Error(`child exited early (${code}): ${stderr}`));
        });
      });
      await new Promise((r) => child.once('close', r));

      const store = await openSqliteStore(path);
      try {
        for (const id of acked) assert.ok(await store.get('consumers', id), `acknowledged consumer ${id} survived`);
        assert.equal((await store.snapshot()).consumers.length, 20);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
