import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { vendorRedirect, type VendorManifest } from '../../src/platform/vendor-hooks.js';
import { REPO } from '../helpers/cli.js';

const manifest: VendorManifest = {
  imports: {
    yaml: { package: 'yaml', version: '2.9.1', file: 'yaml.cjs', format: 'commonjs' },
    'rxjs/operators': { package: 'rxjs', version: '7.8.2', file: 'rxjs-operators.import.cjs', format: 'commonjs' },
    '@scope/pkg': { package: '@scope/pkg', version: '1.0.0', file: 'scope-pkg.cjs', format: 'commonjs' },
  },
};
const versions: Record<string, string> = {
  '/app/node_modules/yaml/': '2.9.1',
  '/app/node_modules/old/node_modules/yaml/': '1.10.2',
  '/app/node_modules/rxjs/': '7.8.2',
  '/app/node_modules/@scope/pkg/': '1.0.0',
};
const redirect = (specifier: string, resolved: string) => vendorRedirect(manifest, '/app/node_modules/compozy/dist/vendor', specifier, pathToFileURL(resolved).href, (dir) => versions[dir]);

describe('vendored imports', () => {
  it('load the bundle when the import resolved to the package version it was built from', () => {
    expect(redirect('yaml', '/app/node_modules/yaml/dist/index.js')).toEqual({ url: pathToFileURL('/app/node_modules/compozy/dist/vendor/yaml.cjs').href, format: 'commonjs' });
    expect(redirect('rxjs/operators', '/app/node_modules/rxjs/dist/cjs/operators/index.js')).toEqual({ url: pathToFileURL('/app/node_modules/compozy/dist/vendor/rxjs-operators.import.cjs').href, format: 'commonjs' });
    expect(redirect('@scope/pkg', '/app/node_modules/@scope/pkg/index.js')?.url).toBe(pathToFileURL('/app/node_modules/compozy/dist/vendor/scope-pkg.cjs').href);
  });

  it('keep the package when it is another version, another copy, another import or not a file', () => {
    expect(redirect('yaml', '/app/node_modules/old/node_modules/yaml/dist/index.js')).toBeUndefined();
    expect(vendorRedirect(manifest, '/v', 'yaml', pathToFileURL('/app/node_modules/yaml/dist/index.js').href, () => '2.9.2')).toBeUndefined();
    expect(redirect('yaml/util', '/app/node_modules/yaml/dist/util.js')).toBeUndefined();
    expect(redirect('toString', '/app/node_modules/yaml/dist/index.js')).toBeUndefined();
    expect(redirect('yaml', '/app/vendor/yaml/index.js')).toBeUndefined();
    expect(vendorRedirect(manifest, '/v', 'yaml', 'node:fs', () => '2.9.1')).toBeUndefined();
  });

  it('are what the built command loads: one copy per package, and rxjs/operators works on rxjs', () => {
    const vendor = join(REPO, 'dist', 'vendor');
    const built = JSON.parse(readFileSync(join(vendor, 'manifest.json'), 'utf8')) as VendorManifest;
    expect(Object.keys(built.imports).sort()).toEqual(['execa', 'memfs', 'rxjs', 'rxjs/operators', 'yaml']);
    const script = `
      import { createRequire } from 'node:module';
      import { useVendorBundles } from './dist/platform/vendor-hooks.js';
      const vendor = new URL('./dist/vendor/', import.meta.url);
      const used = useVendorBundles(vendor);
      const require = createRequire(import.meta.url);
      const execa = await import('execa');
      const yaml = await import('yaml');
      const rxjs = require('rxjs');
      const { map, toArray } = require('rxjs/operators');
      const values = await rxjs.lastValueFrom(rxjs.of(1, 2).pipe(map((n) => n * 10), toArray()));
      console.log(JSON.stringify({
        used,
        execa: execa === (await import(new URL('execa.mjs', vendor))),
        yaml: yaml.parse === require(new URL('yaml.cjs', vendor).pathname).parse && yaml.parse('a: 1').a === 1,
        rxjs: rxjs === require(new URL('rxjs.cjs', vendor).pathname).rxjs,
        memfs: require('memfs') === require(new URL('memfs.cjs', vendor).pathname),
        values,
      }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ used: true, execa: true, yaml: true, rxjs: true, memfs: true, values: [10, 20] });
  });
});
