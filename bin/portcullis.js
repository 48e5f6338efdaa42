#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run by Node's type stripping (Node >= 24).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`portcullis needs Node.js >= 24 (this is ${process.version}); run it through npm scripts or npx, which use the pinned node@26.`);
  process.exit(1);
}
await import('../src/cli/main.ts');
