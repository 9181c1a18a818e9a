import { InvalidArgumentError, Option, type Command } from 'commander';
import { CompozyError } from '../../errors.js';
import { STATUSES } from '../../store/store.js';
import { apiBase, call, withClientOptions, type ApiFlags } from '../api-client.js';
import { chalkFor, executionDetail, executionsTable, type ExecutionJson, type ExecutionWithTasksJson } from '../execution-view.js';
import { jsonOption } from '../json-input.js';
import { canRedraw, useColor, writeJson } from '../output.js';
import { runAction } from '../run-action.js';

interface ClientFlags extends ApiFlags {
  json?: boolean;
}

interface ListFlags extends ClientFlags {
  workflow?: string;
  status?: string;
  limit?: number;
  cursor?: string;
}

/** The server's page bound (src/server/routes/executions.ts MAX_PAGE). */
const MAX_LIMIT = 500;

const write = (text: string) => process.stdout.write(`${text}\n`);
const execPath = (execId: string) => `/api/v0/executions/workflows/${encodeURIComponent(execId)}`;

/** A call about one execution; an id the server does not know gets where to find the known ones. */
async function callExecution<T>(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  try {
    return await call<T>(base, method, path, body);
  } catch (error) {
    if (!(error instanceof CompozyError) || (error.code !== 'EXECUTION_NOT_FOUND' && error.code !== 'INVALID_EXEC_ID') || error.hint !== undefined) throw error;
    throw new CompozyError(error.code, error.message, { hint: `\`compozy executions list\` shows the executions of ${base}.`, ...(error.details ? { details: error.details } : {}) });
  }
}

function limit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_LIMIT) throw new InvalidArgumentError(`--limit must be a whole number from 1 to ${MAX_LIMIT}.`);
  return Number(value);
}

export function registerExecutions(program: Command): void {
  const executions = program.command('executions').description('List, inspect and steer the executions of a running project, through the API of its `compozy dev` (or --api-url)');

  withClientOptions(executions.command('list [project]'), 'print {executions: [{workflow_exec_id, workflow_id, status, input, output, error, usage, created_at, updated_at}], page: {limit, next_cursor}} as JSON')
    .description('List executions, newest first: id, workflow, status, start, duration')
    .option('--workflow <id>', 'only the executions of this workflow')
    .addOption(new Option('--status <status>', 'only executions with this status').choices([...STATUSES]))
    .option('--limit <n>', `how many (1 to ${MAX_LIMIT}, default 50)`, limit)
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed')
    .action((projectArg: string | undefined, flags: ListFlags) =>
      runAction(Boolean(flags.json), async () => {
        const base = await apiBase(projectArg, flags, 'list its executions from');
        const query = new URLSearchParams({
          ...(flags.workflow !== undefined ? { workflow_id: flags.workflow } : {}),
          ...(flags.status !== undefined ? { status: flags.status } : {}),
          ...(flags.limit !== undefined ? { limit: String(flags.limit) } : {}),
          ...(flags.cursor !== undefined ? { cursor: flags.cursor } : {}),
        });
        const data = await call<{ executions: ExecutionJson[]; page: { limit: number; next_cursor: string | null } }>(base, 'GET', `/api/v0/executions/workflows${query.size > 0 ? `?${query}` : ''}`);
        if (flags.json) writeJson(data);
        else {
          write(executionsTable(data.executions, Date.now(), useColor()));
          if (data.page.next_cursor !== null) write(chalkFor(useColor()).dim(`… more: --cursor ${data.page.next_cursor}`));
        }
      }),
    );

  withClientOptions(executions.command('get <exec_id> [project]'), 'print the execution state {workflow_exec_id, workflow_id, status, input, output, error, usage, created_at, updated_at, tasks} as JSON')
    .description('Show one execution: its status and duration, its error, its task tree with states and durations, and its output')
    .action((execId: string, projectArg: string | undefined, flags: ClientFlags) =>
      runAction(Boolean(flags.json), async () => {
        const base = await apiBase(projectArg, flags, 'read its executions from');
        const state = await callExecution<ExecutionWithTasksJson>(base, 'GET', execPath(execId));
        if (flags.json) writeJson(state);
        else write(executionDetail(state, Date.now(), useColor()));
      }),
    );

  withClientOptions(executions.command('follow <exec_id> [project]'), 'print each event {id, event, data: {exec_id, workflow_id, at, execution | task}} as JSON Lines')
    .description('Follow an execution to its end: the live task tree with states and durations at a terminal, one line per event otherwise; exit 0 when it ends SUCCESS, 1 otherwise')
    .action((execId: string, projectArg: string | undefined, flags: ClientFlags) =>
      runAction(Boolean(flags.json), async () => {
        const base = await apiBase(projectArg, flags, 'follow its executions through');
        return (await import('../follow-view.js')).followAndPrint(base, execId, flags.json ? 'json' : canRedraw() ? 'live' : 'lines', useColor());
      }),
    );

  withClientOptions(executions.command('signal <exec_id> <signal> [project]'), 'print {exec_id, signal_name} as JSON')
    .description('Send a signal to a running execution (what its wait tasks wait_for)')
    .option('--payload <json>', 'the signal payload as JSON (default {})')
    .option('--payload-file <path>', 'read the payload JSON from a file')
    .action((execId: string, signal: string, projectArg: string | undefined, flags: ClientFlags & { payload?: string; payloadFile?: string }) =>
      runAction(Boolean(flags.json), async () => {
        const payload = jsonOption('--payload', flags.payload, flags.payloadFile, {});
        const base = await apiBase(projectArg, flags, 'send signals through');
        const data = await callExecution<{ exec_id: string; signal_name: string }>(base, 'POST', `${execPath(execId)}/signals`, { signal_name: signal, payload });
        if (flags.json) writeJson(data);
        else write(`${chalkFor(useColor()).green('✔')} signal ${data.signal_name} sent to execution ${data.exec_id}`);
      }),
    );

  for (const [action, description, done] of [
    ['cancel', 'Cancel a running execution: its tasks stop and it ends CANCELED', 'cancellation requested'],
    ['pause', 'Pause a running execution before its next task (resume continues it)', 'pause requested'],
    ['resume', 'Resume a paused execution', 'resume requested'],
  ] as const) {
    withClientOptions(executions.command(`${action} <exec_id> [project]`), 'print {exec_id} as JSON')
      .description(description)
      .action((execId: string, projectArg: string | undefined, flags: ClientFlags) =>
        runAction(Boolean(flags.json), async () => {
          const base = await apiBase(projectArg, flags, `${action} its executions through`);
          const data = await callExecution<{ exec_id: string }>(base, 'POST', `${execPath(execId)}/${action}`);
          if (flags.json) writeJson(data);
          else write(`${chalkFor(useColor()).green('✔')} ${done} for execution ${data.exec_id}`);
        }),
      );
  }
}
