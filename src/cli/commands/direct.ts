import type { Command } from 'commander';
import { isValidDuration, parseDuration } from '../../config/duration.js';
import { CompozyError, type ErrorCode } from '../../errors.js';
import { apiBase, envelopeError, send, withClientOptions, type ApiFlags } from '../api-client.js';
import { chalkFor, elapsed, formatDuration } from '../execution-view.js';
import { jsonObjectOption } from '../json-input.js';
import { formatError, useColor, writeJson } from '../output.js';
import { runAction } from '../run-action.js';

interface DirectFlags extends ApiFlags {
  json?: boolean;
  input?: string;
  inputFile?: string;
  timeout?: string;
}

/** The direct routes' bounds on a wait, in seconds (src/server/routes/direct-defs.ts: DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S). */
const DEFAULT_TIMEOUT_S = 60;
const MAX_TIMEOUT_S = 300;

interface DirectState {
  exec_id: string;
  status: string;
  output: unknown;
  error: { code?: string; message?: string } | null;
  created_at: string;
  updated_at: string;
}

interface DirectAnswer {
  exec_id: string;
  output?: unknown;
  state: DirectState;
}

function timeoutSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!isValidDuration(text)) throw new CompozyError('USAGE', `--timeout must be a duration such as 30s or 2m, got "${text}".`);
  const seconds = Math.ceil(parseDuration(text) / 1000);
  if (seconds < 1 || seconds > MAX_TIMEOUT_S) throw new CompozyError('USAGE', `--timeout ${text} is outside 1s to ${MAX_TIMEOUT_S}s, the bounds of a direct execution.`);
  return seconds;
}

/**
 * Runs one direct execution through its /sync route and prints what it returned. Exit 0 when it ended
 * SUCCESS, 1 when it failed or did not end within the timeout (it keeps running then); refusals of the
 * request itself (unknown id, bad input, no worker) keep their own code and exit status.
 */
async function runDirect(kind: 'agent' | 'tool', id: string, projectArg: string | undefined, flags: DirectFlags, body: Record<string, unknown>): Promise<number> {
  const timeout = timeoutSeconds(flags.timeout);
  const input = jsonObjectOption('--input', flags.input, flags.inputFile);
  const base = await apiBase(projectArg, flags, `run its ${kind}s on`);
  const waitS = timeout ?? DEFAULT_TIMEOUT_S;
  const { httpStatus, envelope } = await send<DirectAnswer>(base, 'POST', `/api/v0/${kind}s/${encodeURIComponent(id)}/executions/sync`, { ...body, with: input, ...(timeout !== undefined ? { timeout } : {}) }, (waitS + 30) * 1000);
  const data = envelope.data;
  if (httpStatus === 408 && data) {
    throw new CompozyError((envelope.error?.code ?? 'REQUEST_TIMEOUT') as ErrorCode, `${kind} ${id}: execution ${data.exec_id} did not end within ${waitS} s; it keeps running.`, {
      hint: `See it with \`compozy executions get ${data.exec_id}\`, or give a longer --timeout (at most ${MAX_TIMEOUT_S}s).`,
    });
  }
  if (httpStatus === 500 && data?.state) {
    const answer = { exec_id: data.exec_id, output: data.state.output, state: data.state };
    if (flags.json) writeJson(answer);
    else {
      const failure = new CompozyError((envelope.error?.code ?? 'TASK_FAILED') as ErrorCode, `${kind} ${id} ${data.state.status} (execution ${data.exec_id}): ${envelope.error?.code ? `${envelope.error.code}: ` : ''}${envelope.error?.message ?? 'no error message'}`, {
        hint: `Its task states: \`compozy executions get ${data.exec_id}\`.`,
      });
      process.stderr.write(`${formatError(failure, useColor(process.stderr))}\n`);
    }
    return 1;
  }
  if (httpStatus !== 200 || !data) throw envelopeError(envelope, `POST /api/v0/${kind}s/${id}/executions/sync answered ${httpStatus}.`);
  if (flags.json) writeJson({ exec_id: data.exec_id, output: data.output ?? null, state: data.state });
  else {
    const chalk = chalkFor(useColor());
    process.stdout.write(`${chalk.green('✔')} ${kind} ${id} ${data.state.status} (execution ${data.exec_id}, ${formatDuration(elapsed(data.state, Date.now()))})\n${JSON.stringify(data.output ?? null, null, 2)}\n`);
  }
  return 0;
}

const JSON_SHAPE = 'print {exec_id, output, state: {exec_id, status, component, task_id, output, error, usage, …}} as JSON (also when it fails)';

function withDirectOptions(command: Command, what: string): Command {
  return withClientOptions(command, JSON_SHAPE)
    .option('--input <json>', `${what} as a JSON object (default {})`)
    .option('--input-file <path>', 'read the input JSON from a file')
    .option('--timeout <duration>', `how long the server waits for the end (default ${DEFAULT_TIMEOUT_S}s, at most ${MAX_TIMEOUT_S}s)`);
}

export function registerDirect(program: Command): void {
  const agent = program.command('agent').description("Run a project's agents on their own, through the API of its running `compozy dev` (or --api-url)");
  withDirectOptions(agent.command('run <agent> [project]'), "the agent's input (its action's with:)")
    .description('Run one action of an agent, or a prompt to it, and print its output; exit 0 on SUCCESS, 1 otherwise')
    .option('--action <action>', 'one of the agent\'s actions')
    .option('--prompt <text>', 'a prompt instead of an action')
    .action((id: string, projectArg: string | undefined, flags: DirectFlags & { action?: string; prompt?: string }) =>
      runAction(Boolean(flags.json), async () => {
        if ((flags.action === undefined) === (flags.prompt === undefined)) {
          throw new CompozyError('USAGE', flags.action === undefined ? 'agent run needs --action or --prompt.' : 'Give --action or --prompt, not both: an action has its own prompt.', {
            hint: `\`compozy agent run ${id} --action <action>\`; the agent's actions are in GET /api/v0/agents/${id}.`,
          });
        }
        return runDirect('agent', id, projectArg, flags, flags.action !== undefined ? { action: flags.action } : { prompt: flags.prompt });
      }),
    );

  const tool = program.command('tool').description("Run a project's tools on their own, through the API of its running `compozy dev` (or --api-url)");
  withDirectOptions(tool.command('run <tool> [project]'), "the tool's input")
    .description('Run one tool with an input and print its output; exit 0 on SUCCESS, 1 otherwise')
    .action((id: string, projectArg: string | undefined, flags: DirectFlags) => runAction(Boolean(flags.json), () => runDirect('tool', id, projectArg, flags, {})));
}
