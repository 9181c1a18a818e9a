import { Chalk } from 'chalk';
import type { Command } from 'commander';
import { globSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CompozyError } from '../../errors.js';
import { plural } from '../../platform/plural.js';
import { useColor, writeJson } from '../output.js';
import { openProject } from '../project-context.js';
import { runAction } from '../run-action.js';
import { withConfigOption } from '../config-option.js';

interface TestFlags {
  json?: boolean;
  temporalBin?: string;
}

/** Test files of a project: `*.test.yaml` anywhere in it but its state folder and node_modules. */
function findCaseFiles(dir: string): string[] {
  return globSync('**/*.test.yaml', { cwd: dir, exclude: (name) => name === 'node_modules' || name === '.compozy' })
    .map((path) => join(dir, path))
    .sort();
}

async function runTests(projectArg: string | undefined, flags: TestFlags): Promise<number> {
  const json = Boolean(flags.json);
  const { project, settings } = openProject(projectArg, flags);
  const [{ loadValidProject }, { loadCaseFile }, { sortDiagnostics }] = await Promise.all([import('../../config/valid-project.js'), import('../../testing/case-file.js'), import('../../config/validate.js')]);
  const config = loadValidProject(project.dir);
  const paths = findCaseFiles(project.dir);
  if (paths.length === 0) {
    throw new CompozyError('USAGE', `${project.dir} has no test files (*.test.yaml).`, { hint: 'Write one, e.g. tests/weather.test.yaml with cases: [{name, input, answers, expect}] (see the README, "Testing your workflows").' });
  }
  const loaded = paths.map((path) => loadCaseFile(path, config));
  const diagnostics = sortDiagnostics(loaded.flatMap((l) => l.diagnostics));
  if (diagnostics.length > 0) {
    const lines = diagnostics.map((d) => `  ${relative(project.dir, d.file) || d.file}:${d.line}:${d.col}: ${d.key ? `${d.key}: ` : ''}${d.message}${d.hint ? ` ${d.hint}` : ''}`);
    throw new CompozyError('CONFIG_INVALID', `The test files have ${plural(diagnostics.length, 'problem')}:\n${lines.join('\n')}`, {
      hint: 'Fix them; no case ran.',
      details: { diagnostics },
    });
  }
  const files = loaded.flatMap((l) => (l.file ? [l.file] : []));
  const chalk = new Chalk({ level: !json && useColor() ? 1 : 0 });
  const display = (path: string) => relative(project.dir, path);
  const total = files.reduce((n, f) => n + f.cases.length, 0);
  if (!json) process.stdout.write(`compozy test ${project.name}: ${plural(total, 'case')} in ${plural(files.length, 'file')}\n`);
  const [{ runCaseFiles }, { startEmbeddedTemporal }] = await Promise.all([import('../../testing/case-runner.js'), import('../../api/embedded-temporal.js')]);
  const started = Date.now();
  // One in-memory Temporal for the whole run; each file's environment polls a task queue of its own on it.
  const temporal = await startEmbeddedTemporal({ namespace: settings.temporalNamespace.value, bin: settings.temporalBin.value, log: () => undefined });
  let results: Awaited<ReturnType<typeof runCaseFiles>>;
  try {
    results = await runCaseFiles(files, {
      projectDir: project.dir,
      temporalAddress: temporal.address,
      displayPath: display,
      onResult(result) {
        if (json) return;
        const mark = result.passed ? chalk.green('✔') : chalk.red('✗');
        process.stdout.write(`${mark} ${result.file} › ${result.name} ${chalk.dim(`(${(result.durationMs / 1000).toFixed(1)} s)`)}\n`);
        for (const failure of result.failures) process.stdout.write(`    ${failure}\n`);
      },
    });
  } finally {
    await temporal.stop();
  }
  const failed = results.filter((r) => !r.passed).length;
  const passed = results.length - failed;
  const durationMs = Date.now() - started;
  if (json) {
    writeJson({
      project: project.name,
      passed,
      failed,
      duration_ms: durationMs,
      cases: results.map((r) => ({ file: r.file, line: r.line, name: r.name, workflow: r.workflow, passed: r.passed, exec_id: r.execId, status: r.status, failures: r.failures, duration_ms: r.durationMs })),
    });
  } else {
    const summary = `${plural(results.length, 'case')}: ${passed} passed, ${failed} failed (${(durationMs / 1000).toFixed(1)} s)`;
    process.stdout.write(`${failed > 0 ? chalk.red(summary) : chalk.green(summary)}\n`);
  }
  return failed > 0 ? 1 : 0;
}

export function registerTest(program: Command): void {
  withConfigOption(program.command('test [project]'))
    .description("Run the project's *.test.yaml cases (input, scripted model answers, expected outputs and statuses) on a throwaway platform; exit 1 when a case fails")
    .option('--temporal-bin <path>', 'Temporal CLI binary to run')
    .option('--json', 'one JSON object on stdout: {project, passed, failed, duration_ms, cases: [...]}')
    .action((projectArg: string | undefined, flags: TestFlags) => runAction(Boolean(flags.json), () => runTests(projectArg, flags)));
}
