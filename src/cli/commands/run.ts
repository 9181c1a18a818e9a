import { Chalk } from 'chalk';
import type { Command } from 'commander';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isValidDuration, parseDuration } from '../../config/duration.js';
import { isTerminal } from '../../engine/progress.js';
import { CompozyError } from '../../errors.js';
import { authHeaders } from '../../platform/credentials.js';
import type { ProjectConfig, WorkflowConfig } from '../../config/types.js';
import type { Status } from '../../store/store.js';
import { envelopeError, refusal } from '../api-client.js';
import { jsonOption } from '../json-input.js';
import { devApi } from '../dev-api.js';
import { useColor, writeJson } from '../output.js';
import { preparePlatform, type PlatformFlags } from '../platform.js';
import { openProject, resolveRunTarget } from '../project-context.js';
import { runAction } from '../run-action.js';
import { unknownNameHint } from '../suggest.js';
import { withConfigOption } from '../config-option.js';

interface RunFlags extends PlatformFlags {
  input?: string;
  inputFile?: string;
  timeout: string;
  json?: boolean;
  ephemeral?: boolean;
}

interface Envelope {
  status: number;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

/** A workflow the project does not define is refused before anything starts, with the nearest id and the list. */
function requireWorkflow(workflowId: string, project: { dir: string; name: string }, config: ProjectConfig): WorkflowConfig {
  const workflow = config.workflows.find((candidate) => candidate.id === workflowId);
  if (workflow) return workflow;
  throw new CompozyError('WORKFLOW_NOT_FOUND', `Workflow "${workflowId}" does not exist in project ${project.name} (${project.dir}).`, {
    hint: unknownNameHint(workflowId, config.workflows.map((candidate) => candidate.id), 'workflows'),
  });
}

/** Input the workflow's schema refuses is refused before anything starts, worded as the API words it. */
async function requireValidInput(config: ProjectConfig, workflow: WorkflowConfig, input: unknown): Promise<void> {
  const { checkWorkflowInput, resolveSchema, schemaIndex } = await import('../../engine/definition.js');
  const { SchemaValidator } = await import('../../platform/schema-validator.js');
  try {
    checkWorkflowInput(new SchemaValidator(), workflow.id, resolveSchema(workflow.input, schemaIndex(config, workflow)), input);
  } catch (error) {
    if (!(error instanceof CompozyError)) throw error;
    throw new CompozyError(error.code, refusal({ status: 400, error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } }, error.message));
  }
}

async function api(url: string, init?: RequestInit): Promise<Envelope> {
  const response = await fetch(url, { ...init, headers: { ...authHeaders(), ...(init?.headers as Record<string, string> | undefined) }, signal: AbortSignal.timeout(10_000) });
  return (await response.json()) as Envelope;
}

/** A ready `compozy dev` of this project, if one runs: the smoke run then uses it and leaves it running. */
async function runningApi(stateDir: string): Promise<string | undefined> {
  const api = await devApi(stateDir);
  return api.state === 'up' && api.ready ? api.url : undefined;
}

/** How often a smoke run asks for its execution's state: a local API answers in about a millisecond, and every poll saved is time to exit. */
const POLL_MS = 50;

/** The smoke run itself against an API: start, wait for a terminal status, return the final state. */
async function execute(apiUrl: string, workflowId: string, input: unknown, timeoutMs: number, narrate: (line: string) => void): Promise<Record<string, unknown>> {
  const started = await api(`${apiUrl}/api/v0/workflows/${encodeURIComponent(workflowId)}/executions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  });
  if (started.status !== 202 || !started.data) throw envelopeError(started, `the API answered ${started.status}`);
  const execId = String(started.data.exec_id);
  narrate(`• ${workflowId}: execution ${execId} started`);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const state = (await api(`${apiUrl}/api/v0/executions/workflows/${execId}`)).data ?? {};
    const status = String(state.status);
    if (status !== last) narrate(`• ${workflowId}: ${status}`);
    last = status;
    if (isTerminal(status as Status)) return state;
    await sleep(POLL_MS);
  }
  throw new CompozyError('CHECK_FAILED', `Execution ${execId} did not finish within ${timeoutMs / 1000} s (last status ${last}).`, {
    hint: `Raise --timeout, or look at it with GET ${apiUrl}/api/v0/executions/workflows/${execId}.`,
  });
}

/** Discards the children's log lines: a smoke run keeps stdout for the result (logs stay in .compozy/logs/). */
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });

export function registerRun(program: Command): void {
  withConfigOption(program.command('run <workflow> [project]'))
    .description('Smoke-run a workflow: start the platform (or use the running `compozy dev`), run it once, print the result, stop; exit 0 only on SUCCESS')
    .option('--input <json>', 'the workflow input as JSON (default {})')
    .option('--input-file <path>', 'read the input JSON from a file')
    .option('--timeout <duration>', 'how long to wait for the execution', '10m')
    .option('--port <port>', 'API port when it starts the platform')
    .option('--temporal-bin <path>', 'Temporal CLI binary to run')
    .option('--json', 'print the final execution state as JSON on stdout')
    .option('--ephemeral', 'when it starts the platform, keep its state in a temporary folder removed on exit (mode memory); a running compozy dev is still used')
    .action((workflowArg: string, projectArgument: string | undefined, flags: RunFlags) =>
      runAction(Boolean(flags.json), async () => {
        const { workflowId, projectArg } = resolveRunTarget(workflowArg, projectArgument);
        const input = jsonOption('--input', flags.input, flags.inputFile, {});
        if (!isValidDuration(flags.timeout)) throw new CompozyError('USAGE', `--timeout must be a duration such as 90s or 10m, got "${flags.timeout}".`);
        const timeoutMs = parseDuration(flags.timeout);
        const narrate = (line: string) => process.stderr.write(`${line}\n`);
        const context = openProject(projectArg, flags);
        const { project } = context;
        const { loadValidProject } = await import('../../config/valid-project.js');
        const config = loadValidProject(project.dir);
        await requireValidInput(config, requireWorkflow(workflowId, project, config), input);
        let apiUrl = await runningApi(context.stateDir);
        let stop: ((code: number, reason: string) => Promise<number>) | undefined;
        if (apiUrl) narrate(`• Using the running compozy dev at ${apiUrl}`);
        else {
          let ready!: (url: string) => void;
          const readyUrl = new Promise<string>((resolve) => (ready = resolve));
          const cold = flags.ephemeral ? openProject(projectArg, { ...flags, mode: 'memory' }) : context;
          const { supervisor } = await preparePlatform(projectArg, flags, {
            narrate,
            emit: (event) => {
              if (event.event === 'ready') ready(event.apiUrl);
            },
            logOut: discard,
            color: false,
          }, { context: cold, config });
          const exited = supervisor.run();
          const code = await Promise.race([readyUrl, exited]);
          if (typeof code === 'number') return code;
          apiUrl = code;
          stop = async (exitCode, reason) => {
            await supervisor.shutdown(exitCode, reason);
            return exited;
          };
        }
        let state: Record<string, unknown>;
        try {
          state = await execute(apiUrl, workflowId, input, timeoutMs, narrate);
        } catch (error) {
          await stop?.(1, 'smoke run failed');
          throw error;
        }
        const status = String(state.status);
        await stop?.(0, 'smoke run finished');
        if (flags.json) writeJson(state);
        else {
          const chalk = new Chalk({ level: useColor() ? 1 : 0 });
          const mark = status === 'SUCCESS' ? chalk.green('✔') : chalk.red('✗');
          const error = state.error as { message?: string } | null;
          process.stdout.write(`${mark} ${workflowId} ${status} (execution ${String(state.workflow_exec_id)})${error?.message ? `: ${error.message}` : ''}\n`);
          process.stdout.write(`${JSON.stringify(state.output, null, 2)}\n`);
        }
        return status === 'SUCCESS' ? 0 : 1;
      }),
    );
}
