#!/usr/bin/env node
// Runs the TypeScript sources directly: Node 24 strips types natively, so there is no build step.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`taskloom needs Node.js 24 or newer; this is ${process.version}.\n`);
  process.exit(1);
}
// Compiled code is cached on disk (os.tmpdir()/node-compile-cache): loading the command's modules
// takes about half as long from the second run on.
(await import('node:module')).enableCompileCache?.();
const { main } = await import('../src/cli/main.ts');
process.exit(await main());
