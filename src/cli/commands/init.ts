import type { Command } from 'commander';
import { basename, join, relative, resolve } from 'node:path';
import { CompozyError } from '../../errors.js';
import { projectArgument } from '../../platform/project-argument.js';
import { useColor, writeJson } from '../output.js';
import { runAction } from '../run-action.js';
import { apiKeyVariable, checkProjectName, MODEL_PRESETS, PROJECT_NAME, scaffold, TEMPLATE_SPECS, TEMPLATES, type ModelPreset, type TemplateName } from '../scaffold.js';

interface InitFlags {
  name?: string;
  template?: string;
  model?: string;
  yes?: boolean;
  force?: boolean;
  json?: boolean;
}

/** The folder the interactive name prompt offers. */
const DEFAULT_PROJECT = 'compozy-project';

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CompozyError('USAGE', `${flag} must be one of ${allowed.join(', ')}, not "${value}".`);
}

/** Prompts only for a person at a terminal; scripts and CI get the flags and defaults. */
function interactive(flags: InitFlags): boolean {
  return !flags.yes && !flags.json && process.stdin.isTTY === true && process.stdout.isTTY === true && useColor();
}

/** Ctrl-C at a prompt: @inquirer/prompts rejects with an ExitPromptError. */
function isPromptExit(error: unknown): boolean {
  return error instanceof Error && error.name === 'ExitPromptError';
}

/** A folder argument: `.` is here, anything else a folder to create; the project name is its last segment. */
function target(folder: string): { dir: string; name: string } {
  const dir = resolve(folder);
  return { dir, name: basename(dir) };
}

interface Answers {
  dir: string;
  name: string;
  template: TemplateName;
  model: ModelPreset;
}

async function ask(dirArg: string | undefined, flags: InitFlags, answers: Answers): Promise<Answers> {
  const { input, select } = await import('@inquirer/prompts');
  let { dir, name, template, model } = answers;
  if (dirArg === undefined) {
    const folder = await input({
      message: 'Project name (its folder; . for here)',
      default: flags.name ?? DEFAULT_PROJECT,
      validate: (value) => value.trim() === '.' || PROJECT_NAME.test(basename(resolve(value.trim()))) || 'Use letters, digits, dots, dashes and underscores, starting with a letter or digit.',
    });
    ({ dir, name } = target(folder.trim()));
    if (flags.name !== undefined) name = flags.name;
  }
  if (flags.template === undefined) {
    template = await select<TemplateName>({
      message: 'Template',
      choices: [
        { value: 'basic', name: 'basic — a tool task and an agent task, runs offline' },
        { value: 'weather', name: 'weather — the reference weather workflow (all task kinds)' },
      ],
    });
  }
  if (flags.model === undefined) {
    model = await select<ModelPreset>({
      message: "The agent's model",
      choices: Object.entries(MODEL_PRESETS).map(([value, preset]) => ({
        value: value as ModelPreset,
        name: `${value} (${value === 'replay' && template === 'weather' ? 'replay:weather' : preset.ref})`,
      })),
    });
  }
  return { dir, name, template, model };
}

export function registerInit(program: Command): void {
  program
    .command('init [dir]')
    .description('Create a project in <dir> (. for here) from a template (asks at a terminal; --yes or flags for scripts)')
    .option('--name <name>', 'project name (default: the folder name)')
    .option('--template <template>', `${TEMPLATES.join(' | ')} (default basic)`)
    .option('--model <model>', `the agent's model: ${Object.keys(MODEL_PRESETS).join(' | ')} (default replay, no API key needed)`)
    .option('-y, --yes', 'do not ask; use the flags and defaults')
    .option('--force', 'replace files the template would create (other files are left alone)')
    .option('--json', 'print {dir, name, template, model, files} as JSON')
    .action((dirArg: string | undefined, flags: InitFlags) =>
      runAction(Boolean(flags.json), async () => {
        const here = target(dirArg ?? '.');
        let answers: Answers = {
          dir: here.dir,
          name: flags.name ?? here.name,
          template: oneOf(flags.template ?? 'basic', TEMPLATES, '--template'),
          model: oneOf(flags.model ?? 'replay', Object.keys(MODEL_PRESETS) as ModelPreset[], '--model'),
        };
        if (flags.name !== undefined) checkProjectName(flags.name);
        if (interactive(flags)) {
          try {
            answers = await ask(dirArg, flags, answers);
          } catch (error) {
            if (!isPromptExit(error)) throw error;
            process.stderr.write('Cancelled\n');
            return 130;
          }
        }
        const { dir, name, template, model } = answers;
        const files = scaffold({ dir, name, template, model, force: Boolean(flags.force) });
        const { loadValidProject } = await import('../../config/valid-project.js');
        loadValidProject(dir);
        if (flags.json) {
          writeJson({ dir, name, template, model, files });
          return 0;
        }
        const spec = TEMPLATE_SPECS[template];
        // Run from the current folder, so that npx finds the compozy installed here.
        const project = projectArgument(dir);
        process.stdout.write(`✔ Created ${name} (${template}) in ${dir}\n${files.map((f) => `  ${f}`).join('\n')}\n\n`);
        process.stdout.write(`Next:\n  compozy run ${spec.workflow}${project} --input '${spec.input}'\n  compozy dev${project}\n`);
        const key = apiKeyVariable(model);
        if (key) process.stdout.write(`  (set ${key} first, e.g. in ${relative(process.cwd(), join(dir, '.env'))})\n`);
        return 0;
      }),
    );
}
