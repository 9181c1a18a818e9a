import type { ExecutionStore, NewWorkflowExecution, TaskState, TaskStateWrite, WorkflowExecution, WorkflowExecutionPatch } from '../store/store.js';
import type { ExecutionStreamLog } from './stream-log.js';

/**
 * The execution store with every state write also appended to the execution's stream log: each task
 * state upsert and each change of the execution's status becomes one event, whichever process wrote
 * it. The log append follows the store write and its failure fails the write's caller (an activity,
 * which Temporal retries), so a stream never misses a state the store has.
 */
export class RecordingStore implements ExecutionStore {
  readonly driver: ExecutionStore['driver'];
  readonly apiKeys: ExecutionStore['apiKeys'];

  constructor(
    private readonly inner: ExecutionStore,
    private readonly log: ExecutionStreamLog,
  ) {
    this.driver = inner.driver;
    this.apiKeys = inner.apiKeys;
  }

  async createWorkflowExecution(execution: NewWorkflowExecution): Promise<WorkflowExecution> {
    const created = await this.inner.createWorkflowExecution(execution);
    await this.log.append(created.workflowExecId, { kind: 'execution', at: created.updatedAt, execution: created });
    return created;
  }

  async updateWorkflowExecution(workflowExecId: string, patch: WorkflowExecutionPatch): Promise<WorkflowExecution> {
    const updated = await this.inner.updateWorkflowExecution(workflowExecId, patch);
    if (patch.status !== undefined) await this.log.append(workflowExecId, { kind: 'execution', at: updated.updatedAt, execution: updated });
    return updated;
  }

  async upsertTaskState(state: TaskStateWrite): Promise<TaskState> {
    const written = await this.inner.upsertTaskState(state);
    await this.log.append(written.workflowExecId, { kind: 'task', at: written.updatedAt, state: written });
    return written;
  }

  getWorkflowExecution(workflowExecId: string) {
    return this.inner.getWorkflowExecution(workflowExecId);
  }

  exists(workflowExecId: string) {
    return this.inner.exists(workflowExecId);
  }

  readTaskContext(...args: Parameters<ExecutionStore['readTaskContext']>) {
    return this.inner.readTaskContext(...args);
  }

  listWorkflowExecutions(...args: Parameters<ExecutionStore['listWorkflowExecutions']>) {
    return this.inner.listWorkflowExecutions(...args);
  }

  listTaskStates(workflowExecId: string) {
    return this.inner.listTaskStates(workflowExecId);
  }

  countByStatus(...args: Parameters<ExecutionStore['countByStatus']>) {
    return this.inner.countByStatus(...args);
  }

  ping() {
    return this.inner.ping();
  }

  info() {
    return this.inner.info();
  }

  close() {
    return this.inner.close();
  }
}
