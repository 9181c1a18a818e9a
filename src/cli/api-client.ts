import type { Command } from 'commander';
import { CompozyError, type ErrorCode } from '../errors.js';
import { authHeaders } from '../platform/credentials.js';
import { projectArgument } from '../platform/project-argument.js';
import { withConfigOption } from './config-option.js';
import { devApi } from './dev-api.js';
import { openProject } from './project-context.js';

/** The reference envelope: `{status, message, data}` or `{status, error: {code, message, details}}`. */
export interface Envelope<T = Record<string, unknown>> {
  status?: number;
  message?: string;
  data?: T;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

export interface ApiFlags {
  apiUrl?: string;
}

/**
 * The API a client command talks to: --api-url, else the running `compozy dev` of the project (its
 * `.compozy/run.json`, answered by the serve it started); NOT_RUNNING when there is none. `purpose`
 * ends the sentence "there is no API to …".
 */
export async function apiBase(projectArg: string | undefined, flags: ApiFlags, purpose: string): Promise<string> {
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
      throw new CompozyError('NOT_RUNNING', `compozy dev is not running for ${project.name} (${project.dir}), so there is no API to ${purpose}.`, { hint: start });
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

/** The API's refusal as one line, or its head and then each schema problem once on its own line. */
export function refusal(answer: Envelope<unknown>, fallback: string): string {
  const message = answer.error?.message ?? fallback;
  const details = answer.error?.details as { errors?: { path: string; message: string }[] } | undefined;
  const problems = (details?.errors ?? []).map((e) => `${e.path} ${e.message}`);
  const first = problems[0];
  if (first === undefined) return message;
  const head = message.includes(first) ? message.slice(0, message.indexOf(first)).replace(/[\s:]+$/, '') : message.replace(/\.$/, '');
  return `${head}:${problems.map((problem) => `\n  ${problem}`).join('')}`;
}

/** An error envelope as the typed error the CLI prints and maps to an exit code: the API's code, message and hint. */
export function envelopeError(answer: Envelope<unknown>, fallback: string): CompozyError {
  const details = answer.error?.details ?? {};
  const hint = typeof details.hint === 'string' ? details.hint : undefined;
  return new CompozyError((answer.error?.code ?? 'CHECK_FAILED') as ErrorCode, refusal(answer, fallback), { ...(hint ? { hint } : {}), details });
}

export interface ApiAnswer<T> {
  httpStatus: number;
  envelope: Envelope<T>;
}

/** One HTTP call to a compozy API; the envelope whatever its status (callers that want only success use `call`). */
export async function send<T = Record<string, unknown>>(base: string, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, timeoutMs = 30_000): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...authHeaders() };
  const url = `${base}${path}`;
  let response: Response;
  try {
    response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw new CompozyError('CHECK_FAILED', `${method} ${url} did not answer within ${timeoutMs / 1000} s.`, { cause: error });
    throw new CompozyError('NOT_RUNNING', `The compozy API at ${base} does not answer (${(error as Error).message}).`, { hint: 'Start it with `compozy dev`, or check --api-url.', cause: error });
  }
  const envelope = (await response.json().catch(() => undefined)) as Envelope<T> | undefined;
  if (envelope === undefined || typeof envelope !== 'object' || envelope === null) {
    throw new CompozyError('CHECK_FAILED', `${method} ${url} answered ${response.status} without a JSON body: is ${base} a compozy API?`);
  }
  return { httpStatus: response.status, envelope };
}

/** One call that must succeed: its `data`, or the error envelope as a typed error. */
export async function call<T = Record<string, unknown>>(base: string, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> {
  const { httpStatus, envelope } = await send<T>(base, method, path, body);
  if (httpStatus >= 400 || envelope.error || envelope.data === undefined) throw envelopeError(envelope, `${method} ${path} answered ${httpStatus}.`);
  return envelope.data;
}

/** The options every client command has: the project's config file, --api-url, --json. */
export function withClientOptions(command: Command, json: string): Command {
  return withConfigOption(command)
    .option('--api-url <url>', 'a compozy API to use instead of the running compozy dev of the project (e.g. one started with compozy start)')
    .option('--json', json);
}
