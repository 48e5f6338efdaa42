#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run by Node's type stripping (Node >= 24).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`portcullis needs Node.js >= 24 (this is ${process.version}); run it through npm scripts or npx, which use the pinned node@26.`);
  process.exit(1);
}
// Node's compile cache keeps the stripped JavaScript of every module (and V8's code cache): with it a
// process that finds all its modules there never loads the type stripper, 17 MB of memory per process
// (docs/benchmarks.md, "Where the memory goes"). NODE_COMPILE_CACHE chooses the directory,
// NODE_DISABLE_COMPILE_CACHE=1 turns it off; a directory that cannot be written only costs the memory.
const { enableCompileCache } = await import('node:module');
enableCompileCache();
await import('../src/cli/main.ts');
