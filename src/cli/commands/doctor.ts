import { Chalk } from 'chalk';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_FILE } from '../../config/project.js';
import type { CheckResult, DoctorContext } from '../../doctor/checks.js';
import { CHECK_NAMES } from '../../doctor/names.js';
import { CompozyError } from '../../errors.js';
import { useColor, writeJson } from '../output.js';
import { openProject } from '../project-context.js';
import { runAction } from '../run-action.js';
import { plural } from '../../platform/plural.js';
import { unknownNameHint } from '../suggest.js';
import { withConfigOption } from '../config-option.js';

interface DoctorFlags {
  json?: boolean;
  strict?: boolean;
  project?: string;
}

function context(projectFlag: string | undefined): DoctorContext {
  const dir = resolve(projectFlag ?? '.');
  if (projectFlag === undefined && !existsSync(join(dir, PROJECT_FILE))) return { env: process.env };
  const { project, settings, env, stateDir } = openProject(projectFlag ?? dir);
  return { project, settings, env, stateDir };
}

function renderLine(result: CheckResult, chalk: InstanceType<typeof Chalk>): string {
  const mark = result.status === 'pass' ? chalk.green('✔') : result.status === 'warn' ? chalk.yellow('!') : chalk.red('✗');
  const versions = result.found !== undefined || result.required !== undefined ? chalk.dim(` [found ${result.found ?? '?'}, required ${result.required ?? '-'}]`) : '';
  const fix = result.status !== 'pass' && result.fix ? `\n    ${chalk.dim('fix:')} ${result.fix}` : '';
  return `${mark} ${result.name.padEnd(15)} ${result.message}${versions}${fix}`;
}

/** "3/5 checks passed, 1 warning, 1 failure". */
export function summary(results: CheckResult[]): string {
  const count = (status: CheckResult['status']) => results.filter((r) => r.status === status).length;
  const parts = [`${count('pass')}/${results.length} checks passed`];
  if (count('warn') > 0) parts.push(plural(count('warn'), 'warning'));
  if (count('fail') > 0) parts.push(plural(count('fail'), 'failure'));
  return parts.join(', ');
}

export function registerDoctor(program: Command): void {
  withConfigOption(program.command('doctor [checks...]'))
    .description(`Check every backend and prerequisite (checks: ${CHECK_NAMES.join(', ')})`)
    .option('--project <dir>', 'project to check (default: the current directory when it has compozy.yaml)')
    .option('--strict', 'warnings fail too')
    .option('--json', 'print {checks, passed, total, ok} as JSON')
    .action((selected: string[], flags: DoctorFlags) =>
      runAction(Boolean(flags.json), async () => {
        const { CHECKS } = await import('../../doctor/checks.js');
        const unknown = selected.filter((name) => !CHECKS.some((check) => check.name === name));
        if (unknown.length > 0) {
          throw new CompozyError('USAGE', `Unknown ${unknown.length === 1 ? 'check' : 'checks'}: ${unknown.join(', ')}.`, {
            hint: unknownNameHint(unknown[0] as string, CHECKS.map((c) => c.name), 'checks'),
          });
        }
        const ctx = context(flags.project);
        const checks = selected.length > 0 ? CHECKS.filter((check) => selected.includes(check.name)) : CHECKS;
        const results: CheckResult[] = [];
        for (const check of checks) {
          const result = await check.run(ctx);
          if (result) results.push(result);
        }
        const passed = results.filter((r) => r.status === 'pass').length;
        const failed = results.some((r) => r.status === 'fail') || (Boolean(flags.strict) && results.some((r) => r.status === 'warn'));
        if (flags.json) {
          writeJson({ checks: results, passed, total: results.length, ok: !failed });
        } else {
          const chalk = new Chalk({ level: useColor() ? 1 : 0 });
          for (const result of results) process.stdout.write(`${renderLine(result, chalk)}\n`);
          process.stdout.write(`\n${summary(results)}\n`);
        }
        return failed ? 1 : 0;
      }),
    );
}
