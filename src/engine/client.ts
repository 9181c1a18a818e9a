import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { CompozyError, errorMessage } from '../errors.js';
import { plural } from '../platform/plural.js';
import { SchemaValidator } from '../platform/schema-validator.js';
import { isTerminal } from './progress.js';
import { isKsuid, ksuid } from '../store/ksuid.js';
import type { ExecutionStore, WorkflowExecutionWithTasks } from '../store/store.js';
import { checkWorkflowInput, type WorkflowDef } from './definition.js';
import { engineError } from './engine-error.js';
import type { EngineProject } from './project.js';
import type { RunInput } from './protocol.js';
import { deliverSignal, pauseSignal, resumeSignal, WORKFLOW_TYPE } from './workflows/messages.js';

export interface EngineClientOptions {
  client: Client;
  store: ExecutionStore;
  project: EngineProject;
  taskQueue: string;
  /** Whether some worker polls the task queue; starting without one would leave executions pending forever. */
  workerAvailable(): Promise<boolean>;
  /** Admission limit on active (PENDING + RUNNING) executions; 0 or absent: no limit. */
  maxActiveExecutions?: number;
}

/** The execution queue as health and /metrics show it. */
export interface ExecutionQueue {
  /** Accepted, no task started yet. */
  pending: number;
  running: number;
  /** Paused, or waiting for a signal: not counted against the limit. */
  paused: number;
  /** The admission limit; null when there is none. */
  limit: number | null;
  /** Since this process started. */
  admitted: number;
  rejected: number;
}

/** What a client refused with 429 OVERLOADED is told to wait before retrying. */
export const RETRY_AFTER_SECONDS = 2;

export interface StartedExecution {
  execId: string;
  workflowId: string;
}

function checkExecId(execId: string): void {
  if (!isKsuid(execId)) throw new CompozyError('INVALID_EXEC_ID', `"${execId}" is not an execution id (a 27-character KSUID).`);
}

function notFound(execId: string): CompozyError {
  return new CompozyError('EXECUTION_NOT_FOUND', `Workflow execution ${execId} does not exist.`);
}

/** Starts and steers executions: the one place that talks to Temporal on behalf of the API and signal tasks. */
export class EngineClient {
  private readonly schemas = new SchemaValidator();
  /** Admitted starts whose execution may not be in the store yet: counted so a burst cannot overshoot the limit. */
  private admitting = 0;
  private admittedTotal = 0;
  private rejectedTotal = 0;

  constructor(private readonly options: EngineClientOptions) {}

  /** The compiled project this client starts executions of. */
  get project(): EngineProject {
    return this.options.project;
  }

  workflows(): WorkflowDef[] {
    return [...this.options.project.workflows.values()];
  }

  workflow(id: string): WorkflowDef {
    const def = this.options.project.workflows.get(id);
    if (!def) {
      throw new CompozyError('WORKFLOW_NOT_FOUND', `Workflow "${id}" does not exist in project ${this.options.project.name}.`, {
        hint: `Known workflows: ${[...this.options.project.workflows.keys()].join(', ') || 'none'}.`,
      });
    }
    return def;
  }

  /**
   * Validates the input against the workflow's config.input, records the execution, starts it.
   * `admit`: subject to the admission limit (API requests; not the starts of events already accepted).
   */
  async start(workflowId: string, input: unknown, options: { startTaskId?: string; execId?: string; admit?: boolean } = {}): Promise<StartedExecution> {
    const { startTaskId } = options;
    const def = this.workflow(workflowId);
    checkWorkflowInput(this.schemas, def.id, def.inputSchema, input);
    if (startTaskId !== undefined && !def.tasks.some((t) => t.id === startTaskId)) {
      throw new CompozyError('INPUT_INVALID', `task_id "${startTaskId}" is not a top-level task of workflow ${workflowId}.`, { details: { tasks: def.tasks.map((t) => t.id) } });
    }
    return this.launch(def, input, options);
  }

  /**
   * Records and starts an execution of a definition that is not one of the project's workflows: a
   * direct agent, task or tool execution, compiled by its caller into a one-task definition. It runs
   * in the same interpreter workflow, so it is stored, steered and listed like any execution.
   */
  startDefinition(def: WorkflowDef, input: unknown, options: { admit?: boolean } = {}): Promise<StartedExecution> {
    return this.launch(def, input, options);
  }

  private async launch(def: WorkflowDef, input: unknown, options: { startTaskId?: string; execId?: string; admit?: boolean }): Promise<StartedExecution> {
    const { startTaskId } = options;
    const workflowId = def.id;
    const stored = options.admit ? await this.admit() : () => undefined;
    const execId = options.execId ?? ksuid();
    try {
      if (!(await this.options.workerAvailable())) {
        throw new CompozyError('WORKER_UNAVAILABLE', `No worker polls task queue "${this.options.taskQueue}", so the execution would never run.`, {
          hint: 'Start one with `compozy dev` (it runs a worker in the server process) or `compozy worker`.',
        });
      }
      await this.options.store.createWorkflowExecution({ workflowExecId: execId, workflowId, input: input ?? {}, status: 'PENDING' });
    } finally {
      stored();
    }
    const run: RunInput = { def, execId, ...(startTaskId !== undefined ? { startTaskId } : {}) };
    try {
      await this.options.client.workflow.start(WORKFLOW_TYPE, { taskQueue: this.options.taskQueue, workflowId: execId, args: [run] });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw error;
      await this.options.store.updateWorkflowExecution(execId, { status: 'FAILED', error: engineError('TEMPORAL_UNREACHABLE', errorMessage(error)) });
      throw new CompozyError('TEMPORAL_UNREACHABLE', `Temporal did not accept the execution: ${errorMessage(error)}`, { hint: 'Check the temporal row of `compozy status`.' });
    }
    return { execId, workflowId };
  }

  /**
   * Waits until the execution's workflow closes or `timeoutMs` passes, then reads it from the store:
   * `ended` false when the wait timed out (the execution keeps running). Temporal's long poll on the
   * run's result does the waiting; the timeout aborts it, so an abandoned wait holds no open call.
   */
  async waitForEnd(execId: string, timeoutMs: number): Promise<{ ended: boolean; execution: WorkflowExecutionWithTasks }> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let ended: boolean;
    try {
      await this.options.client.withAbortSignal(abort.signal, () => this.options.client.workflow.getHandle(execId).result());
      ended = true;
    } catch (error) {
      // A failed, canceled or terminated run has ended too; its final state is in the store.
      if (abort.signal.aborted) ended = false;
      else if (error instanceof WorkflowFailedError) ended = true;
      else throw error;
    } finally {
      clearTimeout(timer);
    }
    const execution = await this.execution(execId);
    return { ended: ended || isTerminal(execution.status), execution };
  }

  async queue(): Promise<ExecutionQueue> {
    const counts = await this.options.store.countByStatus(['PENDING', 'RUNNING', 'PAUSED', 'WAITING']);
    const limit = this.options.maxActiveExecutions ? this.options.maxActiveExecutions : null;
    return { pending: counts.PENDING, running: counts.RUNNING, paused: counts.PAUSED + counts.WAITING, limit, admitted: this.admittedTotal, rejected: this.rejectedTotal };
  }

  /**
   * Admits one more execution unless the active ones (PENDING + RUNNING in the store, plus starts this
   * process admitted that are not stored yet) have reached the admission limit: then OVERLOADED,
   * instead of a growing backlog. The returned function is called once the execution is stored (or
   * will not be). Events admit with no reservation: their execution is stored by the dispatcher.
   */
  async admit(): Promise<() => void> {
    const limit = this.options.maxActiveExecutions;
    if (limit) {
      const counts = await this.options.store.countByStatus(['PENDING', 'RUNNING']);
      const active = counts.PENDING + counts.RUNNING + this.admitting;
      if (active >= limit) {
        this.rejectedTotal++;
        throw new CompozyError('OVERLOADED', `${plural(active, 'execution')} ${active === 1 ? 'is' : 'are'} pending or running, the limit is ${limit}; this one was not accepted.`, {
          hint: `Retry after ${RETRY_AFTER_SECONDS} s, or raise limits.max_active_executions (LIMITS_MAX_ACTIVE_EXECUTIONS).`,
          details: { active, pending: counts.PENDING, running: counts.RUNNING, limit, retry_after_s: RETRY_AFTER_SECONDS },
        });
      }
    }
    this.admittedTotal++;
    this.admitting++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.admitting--;
    };
  }

  async execution(execId: string): Promise<WorkflowExecutionWithTasks> {
    checkExecId(execId);
    const execution = await this.options.store.getWorkflowExecution(execId);
    if (!execution) throw notFound(execId);
    return execution;
  }

  /** The guard of the steering calls: the execution exists, without reading its task states. */
  private async known(execId: string): Promise<void> {
    checkExecId(execId);
    if (!(await this.options.store.exists(execId))) throw notFound(execId);
  }

  async signal(execId: string, name: string, payload: unknown): Promise<void> {
    await this.known(execId);
    await this.steer(execId, (handle) => handle.signal(deliverSignal, { name, payload }));
  }

  async pause(execId: string): Promise<void> {
    await this.known(execId);
    await this.steer(execId, (handle) => handle.signal(pauseSignal));
  }

  async resume(execId: string): Promise<void> {
    await this.known(execId);
    await this.steer(execId, (handle) => handle.signal(resumeSignal));
  }

  async cancel(execId: string): Promise<void> {
    await this.known(execId);
    await this.steer(execId, (handle) => handle.cancel());
  }

  private async steer<T>(execId: string, action: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>): Promise<T> {
    try {
      return await action(this.options.client.workflow.getHandle(execId));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) {
        throw new CompozyError('EXECUTION_NOT_RUNNING', `Workflow execution ${execId} is not running any more.`, { hint: 'Its final state is at GET /api/v0/executions/workflows/' + execId + '.' });
      }
      throw error;
    }
  }
}
