import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stateDir as projectStateDir } from '../config/project.js';
import { loadValidProject } from '../config/valid-project.js';
import type { ExecutionEvent } from '../engine/observer.js';
import { isTerminal } from '../engine/progress.js';
import { isPidAlive } from '../platform/pids.js';
import { readRunState } from '../platform/run-state.js';
import { CompozyError, type ErrorCode } from '../errors.js';
import { executionSummary, fromDto, fromStore, summaryFromDto, type Execution, type ExecutionSummary, type Status } from './execution.js';
import { startEmbeddedTemporal } from './embedded-temporal.js';
import { openLocalPlatform, type LocalPlatform } from './local-platform.js';
import { projectFolder, type ProjectDefinition, type ProjectFolder } from './project-source.js';
import { resolveSettings, type SettingOverrides } from './settings.js';

export type { ExecutionEvent } from '../engine/observer.js';

export interface CompozyOptions extends SettingOverrides {
  /** A project folder, or a project given as data ({config, files}). */
  project: string | ProjectDefinition;
  /** Where the SQLite KV, store and embedded Temporal history live; default `<project>/.compozy`. */
  stateDir?: string;
  /** Keep no state: a temporary state folder, removed by stop(). */
  ephemeral?: boolean;
  /** Lines the platform logs (tool output, worker notices); default: none. */
  log?: (line: string) => void;
}

export interface RemoteOptions {
  /** A running compozy API (`compozy dev`, `compozy serve`), e.g. http://127.0.0.1:5001. */
  apiUrl: string;
}

export interface StartOptions {
  /** Run a Temporal worker in this process (default true); false leaves the executions to other workers on the task queue. */
  worker?: boolean;
}

export interface RunOptions {
  /** Start at this top-level task instead of the first. */
  taskId?: string;
  /** Give up waiting after this long (default 10 minutes); the execution keeps running. */
  timeoutMs?: number;
}

export interface WorkflowInfo {
  id: string;
  version: string | null;
  description: string | null;
  tasks: { id: string; type: string }[];
}

export interface AgentRun {
  /** An action of the agent; or a prompt. */
  action?: string;
  prompt?: string;
  input?: Record<string, unknown>;
}

export interface AgentOutput {
  output: Record<string, unknown>;
  usage?: { provider: string; model: string; input_tokens: number; output_tokens: number };
}

/** The platform of one project, in this process or behind an API. */
export interface Compozy {
  /** Starts the platform (or checks that the API answers). Idempotent. */
  start(options?: StartOptions): Promise<void>;
  /** Stops what start() started and removes ephemeral state. Idempotent. */
  stop(): Promise<void>;
  workflows(): Promise<WorkflowInfo[]>;
  /** Starts an execution and returns its id without waiting. */
  startWorkflow(workflowId: string, input?: unknown, options?: Pick<RunOptions, 'taskId'>): Promise<{ execId: string }>;
  /** Starts an execution and waits until it ends (SUCCESS or not); returns its final state. */
  runWorkflow(workflowId: string, input?: unknown, options?: RunOptions): Promise<Execution>;
  /** Waits until an execution ends. */
  waitFor(execId: string, options?: { timeoutMs?: number }): Promise<Execution>;
  execution(execId: string): Promise<Execution>;
  executions(filter?: { workflowId?: string; status?: Status; limit?: number }): Promise<ExecutionSummary[]>;
  /** Runs an agent's action (or a prompt) once, outside any workflow. Needs a project in this process. */
  runAgent(agentId: string, run: AgentRun): Promise<AgentOutput>;
  /** Runs a tool once, outside any workflow. Needs a project in this process. */
  runTool(toolId: string, input?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * Events of the executions this process's worker runs (started, finished, task failed); returns the
   * unsubscribe function. A client without a worker here has no events to give and refuses.
   */
  subscribe(listener: (event: ExecutionEvent) => void): () => void;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** How long a client of an API waits for it to become ready. */
const READY_TIMEOUT_MS = 30_000;

function notStarted(): CompozyError {
  return new CompozyError('NOT_RUNNING', 'The platform is not started.', { hint: 'Call await compozy.start() first.' });
}

function timedOut(execId: string, timeoutMs: number, status: string): CompozyError {
  return new CompozyError('CHECK_FAILED', `Execution ${execId} did not finish within ${timeoutMs / 1000} s (last status ${status}).`, {
    hint: 'Give a longer timeoutMs, or read it later with execution(execId).',
    details: { execId, status },
  });
}

class LocalCompozy implements Compozy {
  private platform: LocalPlatform | undefined;
  private starting: Promise<void> | undefined;
  private readonly listeners = new Set<(event: ExecutionEvent) => void>();
  private folder: ProjectFolder | undefined;
  private ephemeralDir: string | undefined;

  constructor(private readonly options: CompozyOptions) {}

  start(options: StartOptions = {}): Promise<void> {
    this.starting ??= this.open(options.worker !== false).catch((error: unknown) => {
      this.starting = undefined;
      this.cleanup();
      throw error;
    });
    return this.starting;
  }

  private async open(worker: boolean): Promise<void> {
    this.folder = projectFolder(this.options.project);
    const { dir } = this.folder;
    const { settings } = resolveSettings(dir, this.options);
    const config = loadValidProject(dir);
    let stateDir = this.options.stateDir ?? projectStateDir({ dir });
    if (this.options.ephemeral) {
      this.ephemeralDir = mkdtempSync(join(tmpdir(), 'compozy-state-'));
      stateDir = this.ephemeralDir;
    }
    const dev = readRunState(stateDir);
    if (dev && isPidAlive(dev.supervisorPid)) {
      // Two dev servers on one Temporal database file would corrupt it.
      throw new CompozyError('ALREADY_RUNNING', `compozy dev (pid ${dev.supervisorPid}) runs this project on ${stateDir}.`, {
        hint: `Connect to it with createCompozy({ apiUrl: '${dev.apiUrl}' }), or give this one ephemeral: true or its own stateDir.`,
      });
    }
    mkdirSync(stateDir, { recursive: true });
    const log = this.options.log ?? (() => undefined);
    this.platform = await openLocalPlatform({
      config,
      settings,
      stateDir,
      worker,
      log,
      startTemporal: () => startEmbeddedTemporal({ namespace: settings.temporalNamespace.value, bin: settings.temporalBin.value, stateDir: this.options.ephemeral ? undefined : stateDir, log }),
      onEvent: (event) => {
        for (const listener of this.listeners) listener(event);
      },
    });
  }

  private cleanup(): void {
    this.folder?.dispose();
    if (this.ephemeralDir) rmSync(this.ephemeralDir, { recursive: true, force: true });
    this.folder = undefined;
    this.ephemeralDir = undefined;
  }

  async stop(): Promise<void> {
    const starting = this.starting;
    if (!starting) return;
    await starting.catch(() => undefined);
    const platform = this.platform;
    this.platform = undefined;
    this.starting = undefined;
    await platform?.close();
    this.cleanup();
  }

  private get running(): LocalPlatform {
    if (!this.platform) throw notStarted();
    return this.platform;
  }

  async workflows(): Promise<WorkflowInfo[]> {
    return this.running.runtime.engine.workflows().map((def) => ({ id: def.id, version: def.version ?? null, description: def.description ?? null, tasks: def.tasks.map((t) => ({ id: t.id, type: t.type })) }));
  }

  async startWorkflow(workflowId: string, input: unknown = {}, options: Pick<RunOptions, 'taskId'> = {}): Promise<{ execId: string }> {
    const { execId } = await this.running.runtime.engine.start(workflowId, input, { admit: true, ...(options.taskId ? { startTaskId: options.taskId } : {}) });
    return { execId };
  }

  async runWorkflow(workflowId: string, input: unknown = {}, options: RunOptions = {}): Promise<Execution> {
    const { execId } = await this.startWorkflow(workflowId, input, options);
    return this.waitFor(execId, options);
  }

  async waitFor(execId: string, options: { timeoutMs?: number } = {}): Promise<Execution> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const { engine } = this.running.runtime;
    const deadline = Date.now() + timeoutMs;
    let status = 'PENDING';
    // The store is the record the API reads too; Temporal's result alone would not carry the task states.
    for (let delay = 10; Date.now() < deadline; delay = Math.min(delay * 2, 200)) {
      const execution = await engine.execution(execId);
      status = execution.status;
      if (isTerminal(execution.status)) return fromStore(execution);
      await sleep(delay);
    }
    throw timedOut(execId, timeoutMs, status);
  }

  async execution(execId: string): Promise<Execution> {
    return fromStore(await this.running.runtime.engine.execution(execId));
  }

  async executions(filter: { workflowId?: string; status?: Status; limit?: number } = {}): Promise<ExecutionSummary[]> {
    const page = await this.running.runtime.store.listWorkflowExecutions(filter);
    return page.items.map(executionSummary);
  }

  async runAgent(agentId: string, run: AgentRun): Promise<AgentOutput> {
    const { agents } = this.running.runtime;
    if (run.action === undefined && run.prompt === undefined) throw new CompozyError('USAGE', `runAgent("${agentId}") needs an action or a prompt.`);
    const input = run.input ?? {};
    return agents.run({ agentId, ...(run.action !== undefined ? { actionId: run.action } : {}), ...(run.prompt !== undefined ? { prompt: run.prompt } : {}), input, context: { input } });
  }

  async runTool(toolId: string, input: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.running.runtime.tools.call(toolId, input, {});
  }

  subscribe(listener: (event: ExecutionEvent) => void): () => void {
    if (this.platform && !this.platform.worker) {
      throw new CompozyError('USAGE', 'This client runs no worker, so no execution events reach it.', { hint: 'start() with worker: true, or poll execution(execId).' });
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

interface Envelope {
  status: number;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

/** The same operations over a running compozy API. */
class RemoteCompozy implements Compozy {
  private readonly base: string;

  constructor(options: RemoteOptions) {
    let url: URL;
    try {
      url = new URL(options.apiUrl);
    } catch {
      throw new CompozyError('USAGE', `apiUrl "${options.apiUrl}" is not a URL.`, { hint: 'Give it like http://127.0.0.1:5001.' });
    }
    this.base = url.href.replace(/\/$/, '');
  }

  private async request(path: string, init?: RequestInit): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await fetch(`${this.base}/api/v0${path}`, { ...init, ...(init?.body ? { headers: { 'content-type': 'application/json' } } : {}), signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      throw new CompozyError('NOT_RUNNING', `The compozy API at ${this.base} does not answer (${(error as Error).message}).`, { hint: 'Start it with `compozy dev`, or check apiUrl.', cause: error });
    }
    const envelope = (await response.json().catch(() => ({ status: response.status }))) as Envelope;
    if (!response.ok || envelope.error) {
      const hint = envelope.error?.details?.hint;
      throw new CompozyError((envelope.error?.code ?? 'CHECK_FAILED') as ErrorCode, envelope.error?.message ?? `The API answered ${response.status}.`, {
        ...(typeof hint === 'string' ? { hint } : {}),
        ...(envelope.error?.details ? { details: envelope.error.details } : {}),
      });
    }
    return envelope.data ?? {};
  }

  /** Waits until the API is ready (its worker polls), as `compozy run` does before it starts anything. */
  async start(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let reason = 'no answer';
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${this.base}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (response.ok) return;
        reason = `readyz answered ${response.status}: ${await response.text()}`;
      } catch (error) {
        reason = (error as Error).message;
      }
      await sleep(100);
    }
    throw new CompozyError('NOT_RUNNING', `The compozy API at ${this.base} is not ready (${reason}).`, { hint: 'Start it with `compozy dev`, or check apiUrl.' });
  }

  async stop(): Promise<void> {}

  async workflows(): Promise<WorkflowInfo[]> {
    const data = await this.request('/workflows');
    return (data.workflows as Record<string, unknown>[]).map((w) => ({ id: String(w.id), version: (w.version ?? null) as string | null, description: (w.description ?? null) as string | null, tasks: w.tasks as WorkflowInfo['tasks'] }));
  }

  async startWorkflow(workflowId: string, input: unknown = {}, options: Pick<RunOptions, 'taskId'> = {}): Promise<{ execId: string }> {
    const data = await this.request(`/workflows/${encodeURIComponent(workflowId)}/executions`, { method: 'POST', body: JSON.stringify({ input, ...(options.taskId ? { task_id: options.taskId } : {}) }) });
    return { execId: String(data.exec_id) };
  }

  async runWorkflow(workflowId: string, input: unknown = {}, options: RunOptions = {}): Promise<Execution> {
    const { execId } = await this.startWorkflow(workflowId, input, options);
    return this.waitFor(execId, options);
  }

  async waitFor(execId: string, options: { timeoutMs?: number } = {}): Promise<Execution> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let status = 'PENDING';
    for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
      const execution = await this.execution(execId);
      status = execution.status;
      if (isTerminal(execution.status)) return execution;
      await sleep(delay);
    }
    throw timedOut(execId, timeoutMs, status);
  }

  async execution(execId: string): Promise<Execution> {
    return fromDto(await this.request(`/executions/workflows/${encodeURIComponent(execId)}`));
  }

  async executions(filter: { workflowId?: string; status?: Status; limit?: number } = {}): Promise<ExecutionSummary[]> {
    const query = new URLSearchParams();
    if (filter.workflowId) query.set('workflow_id', filter.workflowId);
    if (filter.status) query.set('status', filter.status);
    if (filter.limit) query.set('limit', String(filter.limit));
    const data = await this.request(`/executions/workflows${query.size > 0 ? `?${query}` : ''}`);
    return (data.executions as Record<string, unknown>[]).map(summaryFromDto);
  }

  private local(what: string): never {
    throw new CompozyError('USAGE', `${what} runs in the process that has the project; a client of ${this.base} cannot.`, {
      hint: 'Open the project with createCompozy({ project }) to run agents and tools directly.',
    });
  }

  async runAgent(): Promise<AgentOutput> {
    return this.local('runAgent');
  }

  async runTool(): Promise<Record<string, unknown>> {
    return this.local('runTool');
  }

  subscribe(): () => void {
    throw new CompozyError('USAGE', `Execution events reach the process whose worker runs them, not a client of ${this.base}.`, { hint: 'Poll execution(execId), or use waitFor(execId).' });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * The platform as a library. With `project`, the platform runs in this process on start(): an
 * embedded Temporal dev server in standalone mode (or the Temporal at temporal.address), the KV and
 * store the settings choose, the tool pool and a worker. With `apiUrl`, the same calls go to a running
 * compozy API.
 */
export function createCompozy(options: CompozyOptions | RemoteOptions): Compozy {
  if ('apiUrl' in options && typeof options.apiUrl === 'string') return new RemoteCompozy(options);
  if (!('project' in options) || options.project === undefined) {
    throw new CompozyError('USAGE', 'createCompozy needs a project (a folder or {config, files}) or an apiUrl.');
  }
  return new LocalCompozy(options);
}
