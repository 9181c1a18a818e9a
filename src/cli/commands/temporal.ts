import type { Command } from 'commander';
import { binaryVersion, resolveTemporalBinary, type ResolvedBinary } from '../../temporal/binary.js';
import { installTemporalCli } from '../../temporal/install.js';
import { writeJson } from '../output.js';
import { runAction } from '../run-action.js';

export function registerTemporal(program: Command): void {
  const temporal = program.command('temporal').description('Manage the Temporal CLI binary compozy runs');

  temporal
    .command('install')
    .description('Install the pinned Temporal CLI into the cache (download, or go install offline)')
    .option('--json', 'print {path, source, version} as JSON, like `temporal path --json` (source cache when it was already installed)')
    .action((options: { json?: boolean }) =>
      runAction(Boolean(options.json), async () => {
        const result = await installTemporalCli({ onProgress: (event) => process.stderr.write(`${event.message}\n`) });
        const installed: ResolvedBinary = { path: result.path, source: result.fresh ? 'installed' : 'cache', version: await binaryVersion(result.path) };
        if (options.json) writeJson(installed);
        else process.stdout.write(result.fresh ? `Installed ${result.path}\n` : `Already installed: ${result.path}\n`);
      }),
    );

  temporal
    .command('path')
    .description('Print which Temporal CLI binary compozy would use, and where it came from')
    .option('--temporal-bin <path>', 'use this binary')
    .option('--json', 'print {path, source, version} as JSON')
    .action((options: { json?: boolean; temporalBin?: string }) =>
      runAction(Boolean(options.json), async () => {
        const resolved = await resolveTemporalBinary({ flag: options.temporalBin });
        if (options.json) writeJson(resolved);
        else process.stdout.write(`${resolved.path}\n`);
      }),
    );
}
