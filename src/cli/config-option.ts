import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CONFIG_FILE_ENV } from '../config/project.js';

/**
 * `-c, --config <file>` on a command that loads a project. Before the action runs it sets
 * COMPOZY_CONFIG_FILE (resolved from the current folder), which every project load reads, and which
 * the processes the command starts (serve under dev) inherit.
 */
export function withConfigOption(command: Command): Command {
  return command
    .option('-c, --config <file>', 'the project config file, when it is not <project>/compozy.yaml (COMPOZY_CONFIG_FILE); its workflow paths are relative to the project folder')
    .hook('preAction', (self) => {
      const file = self.opts<{ config?: string }>().config;
      if (file !== undefined) process.env[CONFIG_FILE_ENV] = resolve(file);
    });
}
