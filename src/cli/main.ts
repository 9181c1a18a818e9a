import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../config/project.js';
import { registerCommands } from './command-table.js';

const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

// A reader that goes away (`compozy status | head`, a parent npm that exited first) must not crash a
// command mid-shutdown; the output simply has nowhere to go.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

const program = new Command('compozy')
  .description('Build and run agentic workflows written in Compozy YAML')
  .version(version)
  .showHelpAfterError()
  .exitOverride();

await registerCommands(program, process.argv);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Help and --version exit 0; every usage error is exit 2.
  process.exitCode = error.exitCode === 0 ? 0 : 2;
}
// The Temporal native runtime keeps handles open after a command is done; the command's work is
// finished here and stdout/stderr writes to pipes and files are synchronous on Linux.
process.exit(process.exitCode ?? 0);
