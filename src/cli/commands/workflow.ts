import type { Command } from 'commander';
import { apiBase, call, withClientOptions, type ApiFlags } from '../api-client.js';
import { chalkFor, exitCodeForStatus, finalSummary, workflowDetail, workflowsTable, type ExecutionWithTasksJson, type WorkflowJson } from '../execution-view.js';
import { jsonObjectOption } from '../json-input.js';
import { followExecution } from '../follow.js';
import { canRedraw, useColor, writeJson } from '../output.js';
import { runAction } from '../run-action.js';

interface ClientFlags extends ApiFlags {
  json?: boolean;
}

interface RunFlags extends ClientFlags {
  input?: string;
  inputFile?: string;
  wait?: boolean;
  follow?: boolean;
}

const write = (text: string) => process.stdout.write(`${text}\n`);
const narrate = (text: string) => process.stderr.write(`${text}\n`);
const path = (workflowId: string) => `/api/v0/workflows/${encodeURIComponent(workflowId)}`;

/**
 * Follows the execution's event stream to its end, saying each status change on stderr (a dropped
 * connection is resumed, as for --follow), then reads its final state with its tasks.
 */
async function waitForEnd(base: string, execId: string, label: string): Promise<ExecutionWithTasksJson> {
  await followExecution(
    base,
    execId,
    (event) => {
      if (event.data.execution) narrate(`• ${label}: ${event.data.execution.status}`);
    },
    {
      onDrop: (afterEventId, reason) => narrate(`• the event stream of ${execId} dropped (${reason}); reconnecting after event ${afterEventId}…`),
      onResume: (afterEventId) => narrate(`• reconnected to the event stream of ${execId}, resuming after event ${afterEventId}`),
    },
  );
  return call<ExecutionWithTasksJson>(base, 'GET', `/api/v0/executions/workflows/${execId}`);
}

export function registerWorkflow(program: Command): void {
  const workflow = program.command('workflow').description('List, show and run the workflows of a running project, through the API of its `compozy dev` (or --api-url)');

  withClientOptions(workflow.command('list [project]'), 'print {workflows: [{id, version, description, input, tasks, outputs}]} as JSON')
    .description('List the workflows the running server has loaded: id, version, task count, description')
    .action((projectArg: string | undefined, flags: ClientFlags) =>
      runAction(Boolean(flags.json), async () => {
        const base = await apiBase(projectArg, flags, 'list its workflows from');
        const data = await call<{ workflows: WorkflowJson[] }>(base, 'GET', '/api/v0/workflows');
        if (flags.json) writeJson(data);
        else write(workflowsTable(data.workflows));
      }),
    );

  withClientOptions(workflow.command('show <workflow> [project]'), 'print the workflow {id, version, description, input, tasks, outputs} as JSON')
    .description("Show one workflow: its input schema's properties, its tasks in order, its outputs")
    .action((workflowId: string, projectArg: string | undefined, flags: ClientFlags) =>
      runAction(Boolean(flags.json), async () => {
        const base = await apiBase(projectArg, flags, 'read its workflows from');
        const data = await call<WorkflowJson>(base, 'GET', path(workflowId));
        if (flags.json) writeJson(data);
        else write(workflowDetail(data, useColor()));
      }),
    );

  withClientOptions(workflow.command('run <workflow> [project]'), 'print {exec_id, exec_url, workflow_id}, with --wait the final execution state, with --follow each event {id, event, data} (JSON Lines), as JSON')
    .description('Start an execution of a workflow on the running server and print its id; --wait waits for its end and exits with its status (0 on SUCCESS, 1 otherwise)')
    .option('--input <json>', 'the workflow input as a JSON object (default {})')
    .option('--input-file <path>', 'read the input JSON from a file')
    .option('--wait', 'wait for the execution to end, print its output, exit 0 on SUCCESS and 1 otherwise')
    .option('--follow', 'like --wait, showing each task as it runs: the live task tree at a terminal, one line per event otherwise, the events as JSON Lines with --json')
    .action((workflowId: string, projectArg: string | undefined, flags: RunFlags) =>
      runAction(Boolean(flags.json), async () => {
        const input = jsonObjectOption('--input', flags.input, flags.inputFile);
        const base = await apiBase(projectArg, flags, 'run its workflows on');
        const started = await call<{ exec_id: string; exec_url: string; workflow_id: string }>(base, 'POST', `${path(workflowId)}/executions`, { input });
        if (flags.follow) return (await import('../follow-view.js')).followAndPrint(base, started.exec_id, flags.json ? 'json' : canRedraw() ? 'live' : 'lines', useColor());
        if (!flags.wait) {
          if (flags.json) writeJson(started);
          else write(`${chalkFor(useColor()).green('✔')} ${workflowId}: execution ${started.exec_id} started\n  → see it with \`compozy executions get ${started.exec_id}\``);
          return 0;
        }
        narrate(`• ${workflowId}: execution ${started.exec_id} started`);
        const state = await waitForEnd(base, started.exec_id, workflowId);
        if (flags.json) writeJson(state);
        else write(finalSummary(state, useColor()));
        return exitCodeForStatus(state.status);
      }),
    );
}
