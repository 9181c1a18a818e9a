// Part of `npm run build`: bundles a few pure-JavaScript dependencies, each into one file under
// dist/vendor, with dist/vendor/manifest.json saying which import each file stands for and which
// version of its package it was built from. bin/compozy.js then loads those files instead of the
// packages' hundreds of modules (src/platform/vendor-hooks.ts), when the installed version is that one.
// Loading a package's modules one by one costs ~0.3 ms each even from the compile cache: execa is 106
// files, rxjs (loaded by @temporalio/worker) 226, memfs and its @jsonjoy.com packages ~100.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'vendor');
const requireHere = createRequire(join(root, 'package.json'));

/**
 * What is bundled. `imports` are the specifiers a bundle answers: the imports of one package share
 * one bundle, so they share one copy of its modules (rxjs/operators builds on rxjs's own classes).
 * ESM-only packages are bundled as ESM; the others as CommonJS, which `require` and `import` load.
 */
const BUNDLES = [
  { name: 'execa', format: 'esm', imports: ['execa'] },
  { name: 'yaml', format: 'cjs', imports: ['yaml'] },
  { name: 'rxjs', format: 'cjs', imports: ['rxjs', 'rxjs/operators'] },
  { name: 'memfs', format: 'cjs', imports: ['memfs'] },
];

const versionOf = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

/** The license texts of every package a bundle took code from, as their licenses ask. */
function licenses(inputs) {
  const packages = new Map();
  for (const input of inputs) {
    // The innermost node_modules/<package>/ of the path: a nested copy is its own package.
    const match = [...input.matchAll(/node_modules\/(?:@[^/]+\/)?[^/]+\//g)].at(-1);
    if (!match) continue;
    const dir = join(root, input.slice(0, match.index + match[0].length));
    if (packages.has(dir)) continue;
    const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE'].map((f) => join(dir, f)).find((f) => existsSync(f));
    const { name, version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    packages.set(dir, `## ${name} ${version} (${license ?? 'see its package'})\n\n${file ? readFileSync(file, 'utf8').trim() : `License: ${license}`}\n`);
  }
  return [...packages.values()];
}

/** The file an import loads: by `import`'s conditions for an ESM bundle, by `require`'s for a CommonJS one. */
const entryOf = (specifier, format) => (format === 'esm' ? fileURLToPath(import.meta.resolve(specifier)) : requireHere.resolve(specifier));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const manifest = { imports: {} };
const notices = new Set();
for (const bundle of BUNDLES) {
  const version = versionOf(bundle.name);
  const file = `${bundle.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-/, '')}.${bundle.format === 'esm' ? 'mjs' : 'cjs'}`;
  const single = bundle.imports.length === 1;
  // A single import's own file is the entry (its exports stay visible to `import` of a CommonJS
  // bundle); several imports become the exports of one generated entry, keyed by specifier.
  const entry = single
    ? { entryPoints: [entryOf(bundle.imports[0], bundle.format)] }
    : { stdin: { contents: bundle.imports.map((specifier) => `exports[${JSON.stringify(specifier)}] = require(${JSON.stringify(specifier)});`).join('\n'), resolveDir: root, loader: 'js', sourcefile: `${bundle.name}-imports.js` } };
  const result = await build({
    ...entry,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: bundle.format,
    outfile: join(out, file),
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    // An ESM bundle of CommonJS code that requires Node's own modules needs a `require`.
    ...(bundle.format === 'esm' ? { banner: { js: "import { createRequire as __compozyRequire } from 'node:module'; const require = __compozyRequire(import.meta.url);" } } : {}),
  });
  for (const notice of licenses(Object.keys(result.metafile.inputs))) notices.add(notice);
  for (const specifier of bundle.imports) {
    if (single) {
      manifest.imports[specifier] = { package: bundle.name, version, file, format: bundle.format === 'esm' ? 'module' : 'commonjs' };
      continue;
    }
    const shim = `${specifier.replace(/[^a-z0-9]+/gi, '-')}.import.cjs`;
    writeFileSync(join(out, shim), `module.exports = require('./${file}')[${JSON.stringify(specifier)}];\n`);
    manifest.imports[specifier] = { package: bundle.name, version, file: shim, format: 'commonjs' };
  }
}
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(join(out, 'LICENSES.md'), `# Licenses of the code bundled in dist/vendor\n\n${[...notices].join('\n')}`);
console.log(`vendor: ${Object.keys(manifest.imports).length} imports in ${BUNDLES.length} bundles (${relative(root, out)})`);
