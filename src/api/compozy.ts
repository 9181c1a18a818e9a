import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stateDir as projectStateDir } from '../config/project.js';
import type { AppSettings } from '../config/settings.js';
import type { ProjectConfig } from '../config/types.js';
import { loadValidProject } from '../config/valid-project.js';
import type { ExecutionEvent } from '../engine/observer.js';
import { isPidAlive } from '../platform/pids.js';
import { readRunState } from '../platform/run-state.js';
import { CompozyError, errorMessage, type ErrorCode } from '../errors.js';
import { authHeaders } from '../platform/credentials.js';
import { ShutdownError } from '../platform/shutdown.js';
import { describeEvent, type ProcessEvent } from '../server/events.js';
import { kvDriverOf } from '../server/open-kv.js';
import { storeDriverOf } from '../server/open-store.js';
import { executionSummary, fromDto, fromStore, summaryFromDto, untilEnded, type Execution, type ExecutionSummary, type Status } from './execution.js';
import { startEmbeddedTemporal } from './embedded-temporal.js';
import { startPlatform, type HttpOptions, type Platform } from './platform.js';
import { projectFolder, type ProjectDefinition } from './project-source.js';
import { resolveSettings, type SettingOverrides } from './settings.js';

export type { ExecutionEvent } from '../engine/observer.js';

export interface CompozyOptions extends SettingOverrides {
  /** A project folder, or a project given as data ({config, files}). */
  project: string | ProjectDefinition;
  /**
   * Where the SQLite KV, store and embedded Temporal history live; default `<project>/.compozy`. A
   * project given as data has no folder to keep them in: it needs a stateDir or `ephemeral: true`
   * unless all of its state is elsewhere (Redis, PostgreSQL and a running Temporal).
   */
  stateDir?: string;
  /** Keep no state: a temporary state folder (and an in-memory Temporal history), removed by stop(). */
  ephemeral?: boolean;
  /** Lines the platform logs (tool output, worker notices); default: none. */
  log?: (line: string) => void;
}

export interface RemoteOptions {
  /** A running compozy API (`compozy dev`, `compozy serve`), e.g. http://127.0.0.1:5001. */
  apiUrl: string;
  /** The API key to send (`compozy auth create-key`); default COMPOZY_API_KEY, else the one `compozy auth login` stored. */
  apiKey?: string;
}

export interface StartOptions {
  /** Run a Temporal worker in this process (default true); false leaves the executions to other workers on the task queue. */
  worker?: boolean;
  /**
   * Also serve the HTTP API (the one `compozy serve` serves) from this process; `apiUrl` then says where.
   * host and port default to the project's server settings (127.0.0.1:5001, or the next free port when
   * no port is configured); port 0 takes any free port.
   */
  http?: { host?: string; port?: number };
}

export interface RunOptions {
  /** Start at this top-level task instead of the first. */
  taskId?: string;
  /** Give up waiting after this long (default 10 minutes) with a WAIT_TIMEOUT error; the execution keeps running. */
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
  /**
   * Starts the platform (or checks that the API answers). Calling it again with the same options
   * returns the same start; with other options it is refused (ALREADY_RUNNING) until stop().
   */
  start(options?: StartOptions): Promise<void>;
  /**
   * Stops what start() started and removes ephemeral state. Idempotent. Every shutdown step runs; if
   * any failed it rejects with an error naming them (ShutdownError, an AggregateError).
   */
  stop(): Promise<void>;
  /** Where the HTTP API answers: the `apiUrl` of a client, or this process's own once started with `http`. */
  readonly apiUrl: string | undefined;
  workflows(): Promise<WorkflowInfo[]>;
  /** Starts an execution and returns its id without waiting. */
  startWorkflow(workflowId: string, input?: unknown, options?: Pick<RunOptions, 'taskId'>): Promise<{ execId: string }>;
  /** Starts an execution and waits until it ends (SUCCESS or not); returns its final state. */
  runWorkflow(workflowId: string, input?: unknown, options?: RunOptions): Promise<Execution>;
  /** Waits until an execution ends; WAIT_TIMEOUT after timeoutMs (default 10 minutes). */
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
const WAIT_HINT = 'Give a longer timeoutMs, or read it later with execution(execId).';

function notStarted(): CompozyError {
  return new CompozyError('NOT_RUNNING', 'The platform is not started.', { hint: 'Call await compozy.start() first.' });
}

/** A project opened for start(): its configuration, settings and state folder. */
export interface OpenedProject {
  name: string;
  config: ProjectConfig;
  settings: AppSettings;
  stateDir: string;
  /** Keep the embedded Temporal's history in the state folder (false: in memory). */
  persistTemporal: boolean;
  /** Removes what opening made (a temporary project or state folder); a user's folders stay. */
  dispose(): void;
}

/**
 * What `compozy serve` and `compozy worker` add around the platform a program gets; not part of the
 * public API.
 */
export interface ProcessConcerns {
  /** The per-run nonce of the supervisor that started this process, answered on /readyz. */
  nonce?: string | undefined;
  /** The supervisor that started this process. */
  supervisorPid?: number | undefined;
  /** How the Temporal row describes the Temporal at the configured address. */
  temporalBackend?: string | undefined;
  verbose?: boolean;
  /** The process's events (JSON Lines or human lines). */
  emit?: (event: ProcessEvent) => void;
  /** Answer HTTP before the worker polls (/readyz says why it is not ready) instead of start() waiting for it. */
  awaitWorker?: boolean;
}

/** start() as serve calls it: its port may move to the next free one. */
export type LocalStartOptions = Omit<StartOptions, 'http'> & { http?: { host?: string; port?: number; portFallback?: boolean; dashboard?: boolean } };

function isExecutionEvent(event: ProcessEvent): event is ExecutionEvent {
  return event.event === 'execution-started' || event.event === 'execution-finished' || event.event === 'task-failed';
}

/** What a project given by a program opens: its folder (a temporary one for data), settings and state folder. */
function openProgramProject(options: CompozyOptions): OpenedProject {
  const folder = projectFolder(options.project);
  let ephemeralDir: string | undefined;
  const dispose = () => {
    folder.dispose();
    if (ephemeralDir) rmSync(ephemeralDir, { recursive: true, force: true });
  };
  try {
    const { name, settings } = resolveSettings(folder.dir, options);
    const config = loadValidProject(folder.dir);
    const embedsTemporal = !settings.temporalAddress.value && settings.temporalMode.value !== 'remote';
    const ephemeral = Boolean(options.ephemeral) || settings.mode.value === 'memory';
    if (typeof options.project !== 'string' && options.stateDir === undefined && !ephemeral) {
      const onDisk = [kvDriverOf(settings) === 'sqlite' ? 'the SQLite KV' : undefined, storeDriverOf(settings) === 'sqlite' ? 'the SQLite store' : undefined, embedsTemporal ? "the embedded Temporal's history" : undefined].filter(Boolean);
      if (onDisk.length > 0) {
        throw new CompozyError('USAGE', `A project given as data has no folder to keep its state in (${onDisk.join(', ')}).`, {
          hint: 'Give stateDir (kept across runs) or ephemeral: true (removed by stop()).',
        });
      }
    }
    if (ephemeral) ephemeralDir = mkdtempSync(join(tmpdir(), 'compozy-state-'));
    const stateDir = ephemeralDir ?? options.stateDir ?? projectStateDir({ dir: folder.dir });
    const dev = embedsTemporal ? readRunState(stateDir) : undefined;
    if (dev && isPidAlive(dev.supervisorPid)) {
      // Two dev servers on one Temporal database file would corrupt it.
      throw new CompozyError('ALREADY_RUNNING', `compozy dev (pid ${dev.supervisorPid}) runs this project on ${stateDir}.`, {
        hint: `Connect to it with createCompozy({ apiUrl: '${dev.apiUrl}' }), or give this one ephemeral: true or its own stateDir.`,
      });
    }
    mkdirSync(stateDir, { recursive: true });
    return { name, config, settings, stateDir, persistTemporal: !ephemeral && settings.temporalMode.value === 'persistent', dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}

/** The platform in this process: createCompozy({ project }), and `compozy serve` / `compozy worker` with their process concerns. */
export class LocalCompozy implements Compozy {
  private platform: Platform | undefined;
  private starting: Promise<void> | undefined;
  private startedWith: string | undefined;
  private readonly listeners = new Set<(event: ExecutionEvent) => void>();
  private opened: OpenedProject | undefined;

  constructor(
    private readonly open: () => OpenedProject,
    private readonly log: (line: string) => void,
    private readonly concerns: ProcessConcerns = {},
  ) {}

  start(options: LocalStartOptions = {}): Promise<void> {
    const { http } = options;
    const wanted = JSON.stringify({ worker: options.worker !== false, http: http ? { host: http.host ?? null, port: http.port ?? null, portFallback: http.portFallback ?? null, dashboard: http.dashboard ?? false } : null });
    if (this.starting) {
      if (wanted !== this.startedWith) {
        return Promise.reject(
          new CompozyError('ALREADY_RUNNING', `The platform is already started with ${this.startedWith}; start(${wanted}) would be another one.`, {
            hint: 'Call start() with the same options, or stop() first.',
            details: { started: JSON.parse(this.startedWith as string), requested: JSON.parse(wanted) },
          }),
        );
      }
      return this.starting;
    }
    this.startedWith = wanted;
    this.starting = this.launch(options).catch((error: unknown) => {
      this.starting = undefined;
      this.startedWith = undefined;
      this.opened?.dispose();
      this.opened = undefined;
      throw error;
    });
    return this.starting;
  }

  private async launch(options: LocalStartOptions): Promise<void> {
    const opened = this.open();
    this.opened = opened;
    const { settings } = opened;
    const { log, concerns } = this;
    const http: HttpOptions | undefined = options.http && {
      host: options.http.host ?? settings.serverHost.value,
      port: options.http.port ?? settings.serverPort.value,
      portFallback: options.http.portFallback ?? (options.http.port === undefined && settings.serverPort.source === 'default'),
      dashboard: options.http.dashboard ?? false,
    };
    this.platform = await startPlatform({
      project: opened.config,
      projectName: opened.name,
      settings,
      stateDir: opened.stateDir,
      worker: options.worker !== false,
      awaitWorker: concerns.awaitWorker ?? true,
      http,
      startTemporal: () => startEmbeddedTemporal({ namespace: settings.temporalNamespace.value, bin: settings.temporalBin.value, stateDir: opened.persistTemporal ? opened.stateDir : undefined, log }),
      temporalBackend: concerns.temporalBackend,
      nonce: concerns.nonce,
      supervisorPid: concerns.supervisorPid,
      verbose: concerns.verbose ?? false,
      log,
      emit: (event) => {
        if (concerns.emit) concerns.emit(event);
        else if (event.event === 'listening') log(describeEvent(event));
        if (isExecutionEvent(event)) for (const listener of this.listeners) listener(event);
      },
    });
    // A command awaits `stopped` and reports it; a program's worker that stops on its own is said in its log.
    if (!concerns.emit) {
      this.platform.stopped.catch((error: unknown) => {
        if (!(error instanceof ShutdownError)) log(`worker stopped: ${errorMessage(error)}`);
      });
    }
  }

  /** Settles when the running platform stops: rejects when it stops on its own (its worker failed) or its shutdown failed. */
  get stopped(): Promise<void> {
    if (!this.platform) return Promise.reject(notStarted());
    return this.platform.stopped;
  }

  get apiUrl(): string | undefined {
    return this.platform?.http?.url;
  }

  async stop(): Promise<void> {
    const starting = this.starting;
    if (!starting) return;
    await starting.catch(() => undefined);
    const platform = this.platform;
    const opened = this.opened;
    this.platform = undefined;
    this.starting = undefined;
    this.startedWith = undefined;
    this.opened = undefined;
    try {
      await platform?.stop();
    } finally {
      opened?.dispose();
    }
  }

  /**
   * Runs `config` (a validated project) from now on without stopping Temporal, the backends or the
   * API: new executions use it, running ones finish on the definitions they started with.
   */
  async reload(config: ProjectConfig): Promise<void> {
    await this.running.reload(config);
  }

  /** The project as last (re)loaded. */
  get project(): ProjectConfig {
    return this.running.runtime.projectConfig;
  }

  /** How many workflows, agents and tools (inline ones included) the project as last (re)loaded has. */
  loaded(): { workflows: number; agents: number; tools: number } {
    const { workflows, resources } = this.running.runtime.project;
    return { workflows: workflows.size, agents: resources.agents.size, tools: resources.tools.size };
  }

  private get running(): Platform {
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
    const { engine } = this.running.runtime;
    // The store is the record the API reads too; Temporal's result alone would not carry the task states.
    return fromStore(await untilEnded(execId, () => engine.execution(execId), { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxDelayMs: 200, hint: WAIT_HINT }));
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
    if (this.platform && !this.platform.runsWorker) {
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
  private readonly auth: Record<string, string>;

  constructor(options: RemoteOptions) {
    let url: URL;
    try {
      url = new URL(options.apiUrl);
    } catch {
      throw new CompozyError('USAGE', `apiUrl "${options.apiUrl}" is not a URL.`, { hint: 'Give it like http://127.0.0.1:5001.' });
    }
    this.base = url.href.replace(/\/$/, '');
    this.auth = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : authHeaders();
  }

  private async request(path: string, init?: RequestInit): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await fetch(`${this.base}/api/v0${path}`, { ...init, headers: { ...this.auth, ...(init?.body ? { 'content-type': 'application/json' } : {}) }, signal: AbortSignal.timeout(30_000) });
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

  get apiUrl(): string {
    return this.base;
  }

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

  waitFor(execId: string, options: { timeoutMs?: number } = {}): Promise<Execution> {
    return untilEnded(execId, () => this.execution(execId), { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxDelayMs: 500, hint: WAIT_HINT });
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
  return new LocalCompozy(() => openProgramProject(options), options.log ?? (() => undefined));
}

/**
 * The platform of `compozy serve` and `compozy worker`: the same LocalCompozy a program gets, on the
 * project, settings and state folder the CLI resolved from its flags, with the process's concerns.
 */
export function processCompozy(project: { name: string; dir: string }, settings: AppSettings, stateDir: string, log: (line: string) => void, concerns: ProcessConcerns): LocalCompozy {
  return new LocalCompozy(
    () => {
      const config = loadValidProject(project.dir);
      mkdirSync(stateDir, { recursive: true });
      return { name: project.name, config, settings, stateDir, persistTemporal: true, dispose: () => undefined };
    },
    log,
    concerns,
  );
}
