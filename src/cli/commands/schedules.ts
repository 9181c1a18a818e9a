import { Chalk } from 'chalk';
import type { Command } from 'commander';
import { CompozyError, type ErrorCode } from '../../errors.js';
import { authHeaders } from '../../platform/credentials.js';
import { projectArgument } from '../../platform/project-argument.js';
import { withConfigOption } from '../config-option.js';
import { devApi } from '../dev-api.js';
import { useColor, writeJson } from '../output.js';
import { openProject } from '../project-context.js';
import { runAction } from '../run-action.js';

interface Flags {
  json?: boolean;
  apiUrl?: string;
}

/** A schedule as GET /api/v0/schedules answers it (triggers/schedules.ts ScheduleInfo). */
interface Schedule {
  workflow_id: string;
  schedule_id: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  is_override: boolean;
  next_run_time?: string;
  last_run_time?: string;
}

/** The API to talk to: --api-url, else the running `compozy dev` of the project; NOT_RUNNING when there is none. */
async function apiBase(projectArg: string | undefined, flags: Flags): Promise<string> {
  if (flags.apiUrl !== undefined) {
    try {
      return new URL(flags.apiUrl).href.replace(/\/$/, '');
    } catch {
      throw new CompozyError('USAGE', `--api-url "${flags.apiUrl}" is not a URL.`, { hint: 'Give it like http://127.0.0.1:5001.' });
    }
  }
  const { project, stateDir } = openProject(projectArg);
  const start = `Start it with \`compozy dev${projectArgument(project.dir)}\`, or give --api-url for a server started another way (compozy start, compozy serve).`;
  const api = await devApi(stateDir);
  switch (api.state) {
    case 'none':
      throw new CompozyError('NOT_RUNNING', `compozy dev is not running for ${project.name} (${project.dir}), so there is no API that holds its schedules.`, { hint: start });
    case 'stale':
      throw new CompozyError('NOT_RUNNING', `compozy dev is not running for ${project.name} (${project.dir}); the state file names pid ${api.supervisorPid}, which has exited.`, { hint: start });
    case 'unreachable':
      throw new CompozyError('NOT_RUNNING', `compozy dev (pid ${api.supervisorPid}) runs for ${project.name}, but its API at ${api.url} does not answer: ${api.reason}.`, {
        hint: `It may be restarting its server; \`compozy status${projectArgument(project.dir)}\` shows its components.`,
      });
    case 'up':
      return api.url;
  }
}

/** One call to the schedules API; its error envelope becomes the same typed error. */
async function call<T>(base: string, method: 'GET' | 'PATCH' | 'POST', path: string, body?: Record<string, unknown>): Promise<T> {
  const url = `${base}/api/v0/schedules${path}`;
  let response: Response;
  try {
    response = await fetch(url, { method, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...authHeaders() }, ...(body ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new CompozyError('NOT_RUNNING', `The compozy API at ${base} does not answer (${(error as Error).message}).`, { hint: 'Start it with `compozy dev`, or check --api-url.', cause: error });
  }
  const answer = (await response.json().catch(() => undefined)) as { data?: T; error?: { code: string; message: string; details?: Record<string, unknown> } } | undefined;
  if (answer === undefined) throw new CompozyError('CHECK_FAILED', `${method} ${url} answered ${response.status} without a JSON body: is ${base} a compozy API?`);
  if (!response.ok || answer.error || answer.data === undefined) {
    const details = answer.error?.details ?? {};
    throw new CompozyError((answer.error?.code ?? 'CHECK_FAILED') as ErrorCode, answer.error?.message ?? `${method} ${url} answered ${response.status}.`, { ...(typeof details.hint === 'string' ? { hint: details.hint } : {}), details });
  }
  return answer.data;
}

const write = (text: string) => process.stdout.write(`${text}\n`);

function renderList(schedules: readonly Schedule[]): string {
  const chalk = new Chalk({ level: useColor() ? 1 : 0 });
  if (schedules.length === 0) return 'No workflow of this project has a schedule in Temporal.';
  const rows = schedules.map((s) => [s.workflow_id, s.enabled ? chalk.green('enabled') : chalk.yellow('paused'), s.cron, s.timezone, s.enabled ? (s.next_run_time ?? '-') : '-', s.is_override ? 'API override' : '']);
  const head = ['WORKFLOW', 'STATE', 'CRON', 'TIMEZONE', 'NEXT RUN', ''];
  const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => plain(r[i] as string).length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c + ' '.repeat((widths[i] as number) - plain(c).length)).join('  ').trimEnd();
  return [chalk.dim(line(head)), ...rows.map(line)].join('\n');
}

export function registerSchedules(program: Command): void {
  const schedules = program.command('schedules').description("List, pause, resume and fire a project's workflow schedules through the API of its running `compozy dev` (or --api-url)");
  const common = (command: Command) =>
    withConfigOption(command)
      .option('--api-url <url>', 'a compozy API to use instead of the running compozy dev of the project')
      .option('--json', 'print the API answer as JSON');

  common(schedules.command('list [project]').description('Every scheduled workflow: state, cron, time zone, next fire time'))
    .action((projectArg: string | undefined, flags: Flags) =>
      runAction(Boolean(flags.json), async () => {
        const data = await call<{ schedules: Schedule[] }>(await apiBase(projectArg, flags), 'GET', '');
        if (flags.json) writeJson(data);
        else write(renderList(data.schedules));
      }),
    );

  const change = (name: string, description: string, request: (base: string, workflow: string) => Promise<Schedule>, done: (s: Schedule) => string) =>
    common(schedules.command(`${name} <workflow> [project]`).description(description)).action((workflow: string, projectArg: string | undefined, flags: Flags) =>
      runAction(Boolean(flags.json), async () => {
        const schedule = await request(await apiBase(projectArg, flags), workflow);
        if (flags.json) writeJson(schedule);
        else write(`${new Chalk({ level: useColor() ? 1 : 0 }).green('✔')} ${done(schedule)}`);
      }),
    );
  const next = (s: Schedule) => (s.next_run_time ? `; next run ${s.next_run_time}` : '');
  change('pause', 'Pause a schedule (stands until the workflow\'s YAML changes)', (base, wf) => call(base, 'PATCH', `/${encodeURIComponent(wf)}`, { enabled: false }), (s) => `${s.workflow_id} paused`);
  change('resume', 'Resume a paused schedule', (base, wf) => call(base, 'PATCH', `/${encodeURIComponent(wf)}`, { enabled: true }), (s) => `${s.workflow_id} resumed${next(s)}`);
  change('trigger', 'Fire a schedule now, with its input (its overlap policy applies)', (base, wf) => call(base, 'POST', `/${encodeURIComponent(wf)}/trigger`), (s) => `${s.workflow_id} fired; GET /api/v0/executions/workflows lists the run`);
}
