import type { Command } from 'commander';
import { basename, resolve } from 'node:path';
import { CompozyError } from '../../errors.js';
import { useColor, writeJson } from '../output.js';
import { runAction } from '../run-action.js';
import { MODEL_PRESETS, scaffold, TEMPLATES, type ModelPreset, type TemplateName } from '../scaffold.js';

interface InitFlags {
  name?: string;
  template?: string;
  model?: string;
  yes?: boolean;
  force?: boolean;
  json?: boolean;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CompozyError('USAGE', `${flag} must be one of ${allowed.join(', ')}, not "${value}".`);
}

/** Prompts only for a person at a terminal; scripts and CI get the flags and defaults. */
function interactive(flags: InitFlags): boolean {
  return !flags.yes && !flags.json && process.stdin.isTTY === true && process.stdout.isTTY === true && useColor();
}

export function registerInit(program: Command): void {
  program
    .command('init [dir]')
    .description('Create a project from a template (asks at a terminal; --yes or flags for scripts)')
    .option('--name <name>', 'project name (default: the directory name)')
    .option('--template <template>', `${TEMPLATES.join(' | ')} (default basic)`)
    .option('--model <model>', `the agent's model: ${Object.keys(MODEL_PRESETS).join(' | ')} (default replay, no API key needed)`)
    .option('-y, --yes', 'do not ask; use the flags and defaults')
    .option('--force', 'replace files the template would create (other files are left alone)')
    .option('--json', 'print {dir, name, template, model, files} as JSON')
    .action((dirArg: string | undefined, flags: InitFlags) =>
      runAction(Boolean(flags.json), async () => {
        const dir = resolve(dirArg ?? '.');
        let name = flags.name ?? basename(dir);
        let template: TemplateName = oneOf(flags.template ?? 'basic', TEMPLATES, '--template');
        let model: ModelPreset = oneOf(flags.model ?? 'replay', Object.keys(MODEL_PRESETS) as ModelPreset[], '--model');
        if (interactive(flags)) {
          const { input, select } = await import('@inquirer/prompts');
          if (flags.name === undefined) name = await input({ message: 'Project name', default: name });
          if (flags.template === undefined) {
            template = await select({
              message: 'Template',
              choices: [
                { value: 'basic', name: 'basic — a tool task and an agent task, runs offline' },
                { value: 'weather', name: 'weather — the reference weather workflow (all task kinds)' },
              ],
            });
          }
          if (template === 'basic' && flags.model === undefined) {
            model = await select({
              message: "The agent's model",
              choices: Object.entries(MODEL_PRESETS).map(([value, preset]) => ({ value: value as ModelPreset, name: `${value} (${preset.ref})` })),
            });
          }
        }
        const files = scaffold({ dir, name, template, model, force: Boolean(flags.force) });
        const { loadValidProject } = await import('../../config/valid-project.js');
        loadValidProject(dir);
        if (flags.json) {
          writeJson({ dir, name, template, model, files });
          return 0;
        }
        process.stdout.write(`✔ Created ${name} (${template}) in ${dir}\n${files.map((f) => `  ${f}`).join('\n')}\n\n`);
        process.stdout.write(`Next:\n  compozy dev ${dir}\n  compozy run ${template === 'weather' ? 'weather' : 'greet'} ${dir} --input '${template === 'weather' ? '{"city":"Lisbon"}' : '{"name":"Ada","city":"Lisbon"}'}'\n`);
        if (model !== 'replay' && model !== 'ollama') process.stdout.write(`  (set ${MODEL_PRESETS[model].entry.match(/\.env\.(\w+)/)?.[1]} first, e.g. in ${dir}/.env)\n`);
        return 0;
      }),
    );
}
