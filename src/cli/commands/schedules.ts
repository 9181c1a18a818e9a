import { Chalk } from 'chalk';
import type { Command } from 'commander';
import { apiBase, call, withClientOptions, type ApiFlags } from '../api-client.js';
import { table, useColor, writeJson } from '../output.js';
import { runAction } from '../run-action.js';
import type { ScheduleInfo } from '../../triggers/schedules.js';

interface Flags extends ApiFlags {
  json?: boolean;
}

const write = (text: string) => process.stdout.write(`${text}\n`);

function renderList(schedules: readonly ScheduleInfo[]): string {
  const chalk = new Chalk({ level: useColor() ? 1 : 0 });
  if (schedules.length === 0) return 'No workflow of this project has a schedule in Temporal.';
  const rows = schedules.map((s) => [s.workflow_id, s.enabled ? chalk.green('enabled') : chalk.yellow('paused'), s.cron, s.timezone, s.enabled ? (s.next_run_time ?? '-') : '-', s.is_override ? 'API override' : '']);
  const [head = '', ...lines] = table([['WORKFLOW', 'STATE', 'CRON', 'TIMEZONE', 'NEXT RUN', ''], ...rows]).split('\n');
  return [chalk.dim(head), ...lines].join('\n');
}

export function registerSchedules(program: Command): void {
  const schedules = program.command('schedules').description("List, pause, resume and fire a project's workflow schedules through the API of its running `compozy dev` (or --api-url)");
  const common = (command: Command) => withClientOptions(command, 'print the API answer as JSON');
  const base = (projectArg: string | undefined, flags: Flags) => apiBase(projectArg, flags, 'reach its schedules');

  common(schedules.command('list [project]').description('Every scheduled workflow: state, cron, time zone, next fire time'))
    .action((projectArg: string | undefined, flags: Flags) =>
      runAction(Boolean(flags.json), async () => {
        const data = await call<{ schedules: ScheduleInfo[] }>(await base(projectArg, flags), 'GET', '/api/v0/schedules');
        if (flags.json) writeJson(data);
        else write(renderList(data.schedules));
      }),
    );

  const change = (name: string, description: string, request: (base: string, workflow: string) => Promise<ScheduleInfo>, done: (s: ScheduleInfo) => string) =>
    common(schedules.command(`${name} <workflow> [project]`).description(description)).action((workflow: string, projectArg: string | undefined, flags: Flags) =>
      runAction(Boolean(flags.json), async () => {
        const schedule = await request(await base(projectArg, flags), workflow);
        if (flags.json) writeJson(schedule);
        else write(`${new Chalk({ level: useColor() ? 1 : 0 }).green('✔')} ${done(schedule)}`);
      }),
    );
  const next = (s: ScheduleInfo) => (s.next_run_time ? `; next run ${s.next_run_time}` : '');
  change('pause', 'Pause a schedule (stands until the workflow\'s YAML changes)', (base, wf) => call(base, 'PATCH', `/api/v0/schedules/${encodeURIComponent(wf)}`, { enabled: false }), (s) => `${s.workflow_id} paused`);
  change('resume', 'Resume a paused schedule', (base, wf) => call(base, 'PATCH', `/api/v0/schedules/${encodeURIComponent(wf)}`, { enabled: true }), (s) => `${s.workflow_id} resumed${next(s)}`);
  change('trigger', 'Fire a schedule now, with its input (its overlap policy applies)', (base, wf) => call(base, 'POST', `/api/v0/schedules/${encodeURIComponent(wf)}/trigger`), (s) => `${s.workflow_id} fired; GET /api/v0/executions/workflows lists the run`);
}
