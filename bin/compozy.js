#!/usr/bin/env node
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(
    `✗ compozy needs Node.js >= 22.13 (for node:sqlite); this is Node ${process.versions.node} (${process.execPath}).\n` +
      '  → Run it through npm (`npx compozy …` or `npm run compozy -- …`), which uses the pinned node@24, or install Node 24.\n',
  );
  process.exit(2);
}
// Caches compiled bytecode on disk: every `compozy` process (dev, serve, status) starts faster.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../dist/cli/main.js');
