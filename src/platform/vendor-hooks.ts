import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** dist/vendor/manifest.json, written by scripts/vendor.js at build time. */
export interface VendorManifest {
  imports: Record<string, { package: string; version: string; file: string; format: 'module' | 'commonjs' }>;
}

/**
 * Where an import should load from: the bundle the manifest names for it when the package that the
 * import resolved to has the version the bundle was built from; else what it resolved to (an install
 * with another version, or a second copy nested for another version range, keeps its own modules).
 */
export function vendorRedirect(manifest: VendorManifest, vendorDir: string, specifier: string, resolvedUrl: string, versionAt: (packageDir: string) => string | undefined): { url: string; format: 'module' | 'commonjs' } | undefined {
  const entry = Object.hasOwn(manifest.imports, specifier) ? manifest.imports[specifier] : undefined;
  if (!entry || !resolvedUrl.startsWith('file:')) return undefined;
  const path = fileURLToPath(resolvedUrl);
  const marker = `${sep}node_modules${sep}${entry.package.split('/').join(sep)}${sep}`;
  const at = path.lastIndexOf(marker);
  if (at < 0) return undefined;
  if (versionAt(path.slice(0, at + marker.length)) !== entry.version) return undefined;
  return { url: pathToFileURL(join(vendorDir, entry.file)).href, format: entry.format };
}

/**
 * Loads the bundled dependencies of dist/vendor in place of their packages, for every `import` and
 * `require` of this thread from now on. Without a manifest (a build without the vendor step) or on a
 * Node without module.registerHooks (before 22.15), the packages load as they are: the same code,
 * from its many files.
 */
export function useVendorBundles(vendorDirUrl: URL): boolean {
  const vendorDir = fileURLToPath(vendorDirUrl);
  const registerHooks = (nodeModule as { registerHooks?: typeof nodeModule.registerHooks }).registerHooks;
  if (typeof registerHooks !== 'function') return false;
  let manifest: VendorManifest;
  try {
    manifest = JSON.parse(readFileSync(join(vendorDir, 'manifest.json'), 'utf8')) as VendorManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const versions = new Map<string, string | undefined>();
  const versionAt = (packageDir: string): string | undefined => {
    if (!versions.has(packageDir)) {
      try {
        versions.set(packageDir, (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version?: string }).version);
      } catch {
        versions.set(packageDir, undefined);
      }
    }
    return versions.get(packageDir);
  };
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      const bundle = vendorRedirect(manifest, vendorDir, specifier, resolved.url, versionAt);
      return bundle ? { url: bundle.url, format: bundle.format, shortCircuit: true } : resolved;
    },
  });
  return true;
}
