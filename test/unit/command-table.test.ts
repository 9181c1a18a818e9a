import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, registerCommands } from '../../src/cli/command-table.js';

async function registered(...args: string[]): Promise<string[]> {
  const program = new Command('compozy');
  await registerCommands(program, ['node', 'compozy', ...args]);
  return program.commands.map((command) => command.name());
}

describe('the command table', () => {
  it('names every command its modules register, in the order help lists them', async () => {
    expect(await registered()).toEqual(COMMANDS.flatMap((command) => command.names));
  });

  it('registers only the command a process runs, every one when it names none of them', async () => {
    expect(await registered('dev', '--port', '0')).toEqual(['dev']);
    expect(await registered('start')).toEqual(['serve', 'start']);
    expect(await registered('tool', 'run', 'x')).toEqual(['agent', 'tool']);
    for (const args of [['devv'], ['--version'], ['help', 'dev']]) expect(await registered(...args)).toHaveLength(COMMANDS.flatMap((command) => command.names).length);
  });
});
