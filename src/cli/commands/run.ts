import { Chalk } from 'chalk';
import type { Command } from 'commander';
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
import type { PlatformFlags } from '../platform.js';
import { Interrupted, startColdPlatform } from '../cold-run.js';
import type { EngineClient } from '../../engine/client.js';
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

/** How often a smoke run asks for its execution's state: an answer takes about a millisecond, and every poll saved is time to exit. */
const POLL_MS = 50;

/** Where a smoke run starts its execution and reads its state: a running dev's API, or the engine of this process. */
interface RunTarget {
  start(workflowId: string, input: unknown): Promise<string>;
  /** The execution's state in the `GET /executions/workflows/:id` shape. */
  state(execId: string): Promise<Record<string, unknown>>;
  /** Settles when the execution's workflow closes (or the wait gives up), when the target can say so sooner than the next poll. */
  closed?(execId: string, timeoutMs: number): Promise<void>;
  /** What to do when it did not finish in time. */
  timeoutHint(execId: string): string;
}

function apiTarget(apiUrl: string): RunTarget {
  return {
    async start(workflowId, input) {
      const started = await api(`${apiUrl}/api/v0/workflows/${encodeURIComponent(workflowId)}/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input }),
      });
      if (started.status !== 202 || !started.data) throw envelopeError(started, `the API answered ${started.status}`);
      return String(started.data.exec_id);
    },
    async state(execId) {
      return (await api(`${apiUrl}/api/v0/executions/workflows/${execId}`)).data ?? {};
    },
    timeoutHint: (execId) => `Raise --timeout, or look at it with GET ${apiUrl}/api/v0/executions/workflows/${execId}.`,
  };
}

async function engineTarget(engine: EngineClient): Promise<RunTarget> {
  const { executionWithTasksDto } = await import('../../server/routes/dto.js');
  return {
    async start(workflowId, input) {
      return (await engine.start(workflowId, input, { admit: true })).execId;
    },
    // As the API answers it: the DTO through JSON, which leaves out what is undefined.
    state: async (execId) => JSON.parse(JSON.stringify(executionWithTasksDto(await engine.execution(execId)))) as Record<string, unknown>,
    // Temporal's long poll on the run's result: the end is seen when it happens, not up to a poll later.
    closed: async (execId, timeoutMs) => {
      await engine.waitForEnd(execId, timeoutMs).catch(() => undefined);
    },
    timeoutHint: () => 'Raise --timeout.',
  };
}

/** The smoke run itself: start, wait for a terminal status (or an interruption), return the final state. */
async function execute(target: RunTarget, workflowId: string, input: unknown, timeoutMs: number, narrate: (line: string) => void, interrupted: Promise<never>): Promise<Record<string, unknown>> {
  const execId = await Promise.race([target.start(workflowId, input), interrupted]);
  narrate(`• ${workflowId}: execution ${execId} started`);
  const deadline = Date.now() + timeoutMs;
  // Each status on the way is narrated from the polls; the end cuts the wait for the next one short, once.
  let closed = target.closed?.(execId, timeoutMs);
  void closed?.then(() => (closed = undefined));
  let last = '';
  try {
    while (Date.now() < deadline) {
      const state = await Promise.race([target.state(execId), interrupted]);
      const status = String(state.status);
      if (status !== last) narrate(`• ${workflowId}: ${status}`);
      last = status;
      if (isTerminal(status as Status)) return state;
      await Promise.race([sleep(POLL_MS), ...(closed ? [closed] : []), interrupted]);
    }
  } catch (error) {
    if (!(error instanceof Interrupted)) throw error;
    throw new Interrupted(error.reason, `before execution ${execId} ended (last status ${last || 'unknown'})`);
  }
  throw new CompozyError('CHECK_FAILED', `Execution ${execId} did not finish within ${timeoutMs / 1000} s (last status ${last}).`, { hint: target.timeoutHint(execId) });
}

export function registerRun(program: Command): void {
  withConfigOption(program.command('run <workflow> [project]'))
    .description('Smoke-run a workflow: start the platform (or use the running `compozy dev`), run it once, print the result, stop; exit 0 only on SUCCESS')
    .option('--input <json>', 'the workflow input as JSON (default {})')
    .option('--input-file <path>', 'read the input JSON from a file')
    .option('--timeout <duration>', 'how long to wait for the execution', '10m')
    .option('--port <port>', 'when it starts the platform, also serve the API on this port during the run (0 for any free port); without it none is served')
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
        const apiUrl = await runningApi(context.stateDir);
        let state: Record<string, unknown>;
        if (apiUrl) {
          narrate(`• Using the running compozy dev at ${apiUrl}`);
          state = await execute(apiTarget(apiUrl), workflowId, input, timeoutMs, narrate, new Promise<never>(() => undefined));
        } else {
          const cold = flags.ephemeral ? openProject(projectArg, { ...flags, mode: 'memory' }) : context;
          const { serverPort } = cold.settings;
          const platform = await startColdPlatform(cold, config, { port: serverPort.source === 'flag' ? serverPort.value : undefined, narrate });
          try {
            state = await execute(await engineTarget(platform.engine), workflowId, input, timeoutMs, narrate, platform.interrupted);
          } catch (error) {
            await platform.stop(error instanceof Interrupted ? error.reason : 'smoke run failed');
            throw error;
          }
          await platform.stop('smoke run finished');
        }
        const status = String(state.status);
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
