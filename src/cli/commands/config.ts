import type { Command } from 'commander';
import { relative } from 'node:path';
import { loadSettings, loadSettingsLeniently, projectEnv, type AppSettings } from '../../config/settings.js';
import type { ProjectConfig } from '../../config/types.js';
import { CompozyError } from '../../errors.js';
import type { ConfigDiagnostic } from '../../config/yaml-file.js';
import { redactUrl } from '../../platform/urls.js';
import { useColor, writeJson } from '../output.js';
import { loadProject } from '../../config/project.js';
import { resolveProject } from '../project-context.js';
import { runAction } from '../run-action.js';
import { plural } from '../../platform/plural.js';
import { Chalk } from 'chalk';
import { withConfigOption } from '../config-option.js';

/** Values that may carry credentials are shown without them. */
function redacted(settings: AppSettings): Record<string, { value: unknown; source: string; origin: string }> {
  const out: Record<string, { value: unknown; source: string; origin: string }> = {};
  for (const [name, setting] of Object.entries(settings)) {
    const value = typeof setting.value === 'string' && /Url$/.test(name) ? redactUrl(setting.value) : setting.value;
    out[name] = { value: value ?? null, source: setting.source, origin: setting.origin };
  }
  return out;
}

/**
 * What would stop the project from running in this environment (the real environment over the
 * project's .env) although its files are valid: a model an agent uses whose key is unset, a templated
 * model ref that renders to an unknown provider, a missing replay file. Warnings, not errors: the same
 * files are valid where the variables are set. Places an error already points at are not repeated.
 */
async function environmentWarnings(project: ProjectConfig, errors: readonly ConfigDiagnostic[]): Promise<ConfigDiagnostic[]> {
  const [{ modelDiagnostics }, { sortDiagnostics }] = await Promise.all([import('../../llm/models.js'), import('../../config/validate.js')]);
  const taken = new Set(errors.map((d) => `${d.file}:${d.line}:${d.col}`));
  return sortDiagnostics(modelDiagnostics(project, projectEnv(project.dir)).filter((d) => !taken.has(`${d.file}:${d.line}:${d.col}`)));
}

/**
 * The settings compozy.yaml gives (server, limits, drivers…) checked as dev and serve will read them, with
 * the real environment over .env. A bad value in compozy.yaml is an error at its key; one that comes from
 * the environment is a warning about this environment. The first bad setting stops the read, as at start-up.
 */
function settingsProblems(project: ProjectConfig): { errors: ConfigDiagnostic[]; warnings: ConfigDiagnostic[] } {
  try {
    loadSettings({ document: (project.file.data ?? {}) as Record<string, unknown> }, {}, projectEnv(project.dir));
    return { errors: [], warnings: [] };
  } catch (error) {
    if (!(error instanceof CompozyError) || error.code !== 'CONFIG_INVALID') throw error;
    const key = typeof error.details?.key === 'string' ? error.details.key : undefined;
    if (key) return { errors: [project.file.diagnostic(key.split('.'), error.message, error.hint)], warnings: [] };
    const variable = typeof error.details?.env === 'string' ? error.details.env : '';
    return { errors: [], warnings: [{ ...project.file.diagnostic([], error.message, error.hint), key: variable }] };
  }
}

function displayPath(dir: string, file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel || dir;
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('Check and show a project configuration');

  withConfigOption(config.command('validate [project]'))
    .description('Load compozy.yaml, its workflows and resources, and report every problem at once (exit 2 when invalid)')
    .option('--json', 'print {valid, project, diagnostics} as JSON')
    .action((projectArg: string | undefined, flags: { json?: boolean }) =>
      runAction(Boolean(flags.json), async () => {
        const dir = resolveProject(projectArg);
        // Loaded here, not at CLI start: validation pulls in ajv, CEL and the template engine.
        const { loadProjectConfig } = await import('../../config/load.js');
        const { sortDiagnostics, validateProject } = await import('../../config/validate.js');
        const { toolDiagnostics } = await import('../../tools/check.js');
        const { project, diagnostics: loadProblems } = loadProjectConfig(dir);
        // The tool check loads the entrypoint as the tool pool would, so an import-time failure shows here, not at run time.
        const settings = project ? settingsProblems(project) : { errors: [], warnings: [] };
        const diagnostics: ConfigDiagnostic[] = sortDiagnostics([...loadProblems, ...settings.errors, ...(project ? [...validateProject(project), ...(await toolDiagnostics(project))] : [])]);
        const valid = diagnostics.length === 0;
        const warnings = project ? [...settings.warnings, ...(await environmentWarnings(project, diagnostics))] : [];
        if (flags.json) {
          writeJson({ valid, project: project?.name ?? null, dir, diagnostics, warnings });
          return valid ? 0 : 2;
        }
        const chalk = new Chalk({ level: useColor() ? 1 : 0 });
        const print = (mark: string, d: ConfigDiagnostic) => {
          process.stdout.write(`${mark} ${displayPath(dir, d.file)}:${d.line}:${d.col}: ${d.key ? `${chalk.bold(d.key)}: ` : ''}${d.message}\n`);
          if (d.hint) process.stdout.write(`    ${chalk.dim('→')} ${d.hint}\n`);
        };
        for (const d of diagnostics) print(chalk.red('✗'), d);
        for (const d of warnings) print(chalk.yellow('!'), d);
        if (valid && project) {
          const tasks = project.workflows.reduce((n, w) => n + w.tasks.length, 0);
          process.stdout.write(`${chalk.green('✔')} ${project.name}: ${plural(project.workflows.length, 'workflow')}, ${plural(tasks, 'top-level task')}, ${plural(project.agents.length + project.workflows.reduce((n, w) => n + w.agents.length, 0), 'agent')} — valid${warnings.length === 0 ? '' : `, ${plural(warnings.length, 'warning')} about this environment`}\n`);
          return 0;
        }
        process.stdout.write(`\n${plural(diagnostics.length, 'problem')} in ${dir}\n`);
        return 2;
      }),
    );

  withConfigOption(config.command('show [project]'))
    .description('Print the effective settings and where each value comes from (secrets redacted)')
    .option('--json', 'print {project, settings: {name: {value, source, origin}}} as JSON')
    .action((projectArg: string | undefined, flags: { json?: boolean }) =>
      runAction(Boolean(flags.json), async () => {
        const project = loadProject(resolveProject(projectArg));
        const { settings, refused } = loadSettingsLeniently(project, projectEnv(project.dir));
        const shown = redacted(settings);
        if (flags.json) {
          writeJson({ project: project.name, dir: project.dir, settings: shown, refused: refused.map(({ variable, error }) => ({ variable, message: error.message })) });
          return 0;
        }
        process.stdout.write(`${project.name} (${project.dir})\n`);
        const width = Math.max(...Object.keys(shown).map((k) => k.length));
        for (const [name, { value, source, origin }] of Object.entries(shown)) {
          const text = value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value ?? '-');
          process.stdout.write(`  ${name.padEnd(width)}  ${text.padEnd(28)}  ${source}${source === 'default' ? '' : ` (${origin})`}\n`);
        }
        for (const { variable, error } of refused) process.stdout.write(`! ${variable} is left out above: ${error.message} (dev and serve refuse to start on it)\n`);
        return 0;
      }),
    );
}
