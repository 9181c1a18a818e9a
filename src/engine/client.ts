import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { CompozyError, errorMessage } from '../errors.js';
import { describeProblems, SchemaValidator } from '../platform/schema-validator.js';
import { isKsuid, ksuid } from '../store/ksuid.js';
import type { ExecutionStore, WorkflowExecutionWithTasks } from '../store/store.js';
import type { WorkflowDef } from './definition.js';
import type { EngineProject } from './project.js';
import type { LiveState, RunInput } from './protocol.js';
import { deliverSignal, pauseSignal, resumeSignal, stateQuery, WORKFLOW_TYPE } from './workflows/messages.js';

export interface EngineClientOptions {
  client: Client;
  store: ExecutionStore;
  project: EngineProject;
  taskQueue: string;
  /** Whether some worker polls the task queue; starting without one would leave executions pending forever. */
  workerAvailable(): Promise<boolean>;
}

export interface StartedExecution {
  execId: string;
  workflowId: string;
}

/** Starts and steers executions: the one place that talks to Temporal on behalf of the API and signal tasks. */
export class EngineClient {
  private readonly schemas = new SchemaValidator();

  constructor(private readonly options: EngineClientOptions) {}

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

  /** Validates the input against the workflow's config.input, records the execution, starts it. */
  async start(workflowId: string, input: unknown, options: { startTaskId?: string; execId?: string } = {}): Promise<StartedExecution> {
    const { startTaskId } = options;
    const def = this.workflow(workflowId);
    this.validateInput(def, input);
    if (startTaskId !== undefined && !def.tasks.some((t) => t.id === startTaskId)) {
      throw new CompozyError('INPUT_INVALID', `task_id "${startTaskId}" is not a top-level task of workflow ${workflowId}.`, { details: { tasks: def.tasks.map((t) => t.id) } });
    }
    if (!(await this.options.workerAvailable())) {
      throw new CompozyError('WORKER_UNAVAILABLE', `No worker polls task queue "${this.options.taskQueue}", so the execution would never run.`, {
        hint: 'Start one with `compozy dev` (it runs a worker in the server process) or `compozy worker`.',
      });
    }
    const execId = options.execId ?? ksuid();
    await this.options.store.createWorkflowExecution({ workflowExecId: execId, workflowId, input: input ?? {}, status: 'PENDING' });
    const run: RunInput = { def, execId, ...(startTaskId !== undefined ? { startTaskId } : {}) };
    try {
      await this.options.client.workflow.start(WORKFLOW_TYPE, { taskQueue: this.options.taskQueue, workflowId: execId, args: [run] });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw error;
      await this.options.store.updateWorkflowExecution(execId, { status: 'FAILED', error: { code: 'TEMPORAL_UNREACHABLE', message: errorMessage(error) } });
      throw new CompozyError('TEMPORAL_UNREACHABLE', `Temporal did not accept the execution: ${errorMessage(error)}`, { hint: 'Check the temporal row of `compozy status`.' });
    }
    return { execId, workflowId };
  }

  private validateInput(def: WorkflowDef, input: unknown): void {
    if (!def.inputSchema) return;
    const errors = this.schemas.problems(def.inputSchema, input ?? {});
    if (errors.length > 0) {
      throw new CompozyError('INPUT_INVALID', `Input does not match the input schema of workflow ${def.id}: ${describeProblems(errors)}.`, {
        details: { errors },
      });
    }
  }

  async execution(execId: string): Promise<WorkflowExecutionWithTasks> {
    if (!isKsuid(execId)) throw new CompozyError('INVALID_EXEC_ID', `"${execId}" is not an execution id (a 27-character KSUID).`);
    const execution = await this.options.store.getWorkflowExecution(execId);
    if (!execution) throw new CompozyError('EXECUTION_NOT_FOUND', `Workflow execution ${execId} does not exist.`);
    return execution;
  }

  /** The running workflow's own view (which tasks are in flight), from its query. */
  async live(execId: string): Promise<LiveState> {
    await this.execution(execId);
    return this.steer(execId, (handle) => handle.query(stateQuery));
  }

  async signal(execId: string, name: string, payload: unknown): Promise<void> {
    await this.execution(execId);
    await this.steer(execId, (handle) => handle.signal(deliverSignal, { name, payload }));
  }

  async pause(execId: string): Promise<void> {
    await this.execution(execId);
    await this.steer(execId, (handle) => handle.signal(pauseSignal));
  }

  async resume(execId: string): Promise<void> {
    await this.execution(execId);
    await this.steer(execId, (handle) => handle.signal(resumeSignal));
  }

  async cancel(execId: string): Promise<void> {
    await this.execution(execId);
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
