/**
 * Entry point behind `npm run dev:idp` / `npm run dev:echo`:
 *   node src/dev/run.ts idp  [flags]
 *   node src/dev/run.ts echo [flags]
 * (`portcullis dev idp|echo` calls the same functions.)
 */
import process from 'node:process';
import { runDevIdp, runDevEcho } from './cli.ts';

const [what, ...rest] = process.argv.slice(2);
const run = what === 'idp' ? runDevIdp : what === 'echo' ? runDevEcho : null;
if (run === null) {
  process.stderr.write('usage: node src/dev/run.ts idp|echo [--host H] [--port P]\n');
  process.exitCode = 2;
} else {
  process.exitCode = await run(rest);
}
