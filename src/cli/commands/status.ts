import type { Command } from 'commander';
import { CompozyError, errorMessage } from '../../errors.js';
import { overallState, type ComponentHealth, type HealthReport } from '../../health.js';
import { authHeaders } from '../../platform/credentials.js';
import { isPidAlive } from '../../platform/pids.js';
import { readRunState, type RunState } from '../../platform/run-state.js';
import { renderHealthTable } from '../../supervisor/health-table.js';
import { projectArgument } from '../../platform/project-argument.js';
import { useColor, writeJson } from '../output.js';
import { openProject } from '../project-context.js';
import { runAction } from '../run-action.js';
import { withConfigOption } from '../config-option.js';

/** When the API does not answer, what the state file and the process table still tell. */
function reportFromProcesses(run: RunState, apiError: string): HealthReport {
  const components: ComponentHealth[] = Object.entries(run.children).map(([name, child]) => ({
    name,
    backend: name === 'temporal' ? 'embedded dev server' : 'compozy serve',
    state: child.pid !== undefined && isPidAlive(child.pid) ? (name === 'serve' ? 'degraded' : 'up') : 'down',
    ...(name === 'temporal' ? { address: run.temporalAddress } : { address: run.apiUrl }),
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    restarts: child.restarts,
    ...(child.lastExitCode !== undefined ? { lastExitCode: child.lastExitCode } : {}),
    ...(name === 'serve' ? { detail: `API not answering: ${apiError}` } : {}),
  }));
  return { mode: run.mode, project: run.project, status: overallState(components), components };
}

export function registerStatus(program: Command): void {
  withConfigOption(program.command('status [project]'))
    .description('Show the health of the running `compozy dev` of a project')
    .option('--json', 'print the health object as JSON')
    .action((projectArg: string | undefined, flags: { json?: boolean }) =>
      runAction(Boolean(flags.json), async () => {
        const { project, stateDir } = openProject(projectArg);
        const run = readRunState(stateDir);
        if (!run || !isPidAlive(run.supervisorPid)) {
          throw new CompozyError('NOT_RUNNING', `compozy dev is not running for ${project.name} (${project.dir})${run ? `; the state file names pid ${run.supervisorPid}, which has exited` : ''}.`, {
            hint: `Start it with \`compozy dev${projectArgument(project.dir)}\`.`,
          });
        }
        let report: HealthReport;
        try {
          const response = await fetch(`${run.apiUrl}/api/v0/health`, { headers: authHeaders(), signal: AbortSignal.timeout(3000) });
          report = ((await response.json()) as { data: HealthReport }).data;
        } catch (error) {
          report = reportFromProcesses(run, errorMessage(error));
        }
        if (!Array.isArray(report.components)) {
          throw new CompozyError('UNAUTHORIZED', `compozy dev's API at ${run.apiUrl} answers its health detail only to an API key (its status: ${String(report.status)}).`, {
            hint: 'Set COMPOZY_API_KEY, or store a key with `compozy auth login`.',
          });
        }
        if (flags.json) writeJson({ ...report, supervisorPid: run.supervisorPid, apiUrl: run.apiUrl, temporalAddress: run.temporalAddress, startedAt: run.startedAt });
        else process.stdout.write(`${renderHealthTable(report, { color: useColor() })}\n`);
        return report.status === 'up' ? 0 : 1;
      }),
    );
}
