import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal } from '../engine/progress.js';
import { CompozyError } from '../errors.js';
import type { Status as StoreStatus, TaskState, WorkflowExecution, WorkflowExecutionWithTasks } from '../store/store.js';

export type { ExecutionError, Status } from '../store/store.js';

/**
 * One task's state in an execution (children of collections, parallels and composites included):
 * the store's task state without what the execution already says (its ids) or only the store needs.
 * `executionType` is the task's type (basic, collection, router…); `parentStateId` the parent task's
 * taskExecId for a child task, null at the top level.
 */
export type TaskExecution = Omit<TaskState, 'workflowExecId' | 'workflowId' | 'component'>;

/** A workflow execution as the store records it, with its task states keyed by task id. */
export interface Execution extends Omit<WorkflowExecution, 'workflowExecId'> {
  execId: string;
  tasks: Record<string, TaskExecution>;
}

/** A row of an execution list: the execution without its task states. */
export type ExecutionSummary = Omit<Execution, 'tasks'>;

export function taskExecution(state: TaskState): TaskExecution {
  const { workflowExecId: _execution, workflowId: _workflow, component: _component, ...task } = state;
  return task;
}

export function executionSummary(execution: WorkflowExecution): ExecutionSummary {
  const { workflowExecId, workflowId, status, input, output, error, usage, createdAt, updatedAt } = execution;
  return { execId: workflowExecId, workflowId, status, input, output, error, usage, createdAt, updatedAt };
}

export function fromStore(execution: WorkflowExecutionWithTasks): Execution {
  return { ...executionSummary(execution), tasks: Object.fromEntries(Object.entries(execution.tasks).map(([id, state]) => [id, taskExecution(state)])) };
}

type Dto = Record<string, unknown>;

const camel = (key: string) => key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** The HTTP API's snake_case fields (reference §2.6) under the store's camelCase names; the values (input, output…) stay as sent. */
function storeFields<T>(dto: Dto): T {
  return Object.fromEntries(Object.entries(dto).map(([key, value]) => [camel(key), value])) as T;
}

/** The HTTP API's execution shapes as the same types. */
export function summaryFromDto(dto: Dto): ExecutionSummary {
  return executionSummary(storeFields<WorkflowExecution>(dto));
}

export function fromDto(dto: Dto): Execution {
  const tasks = (dto.tasks ?? {}) as Record<string, Dto>;
  return { ...summaryFromDto(dto), tasks: Object.fromEntries(Object.entries(tasks).map(([id, task]) => [id, taskExecution(storeFields<TaskState>(task))])) };
}

/**
 * Reads an execution until it ends (every status but PENDING and RUNNING), backing off from 10 ms to
 * `maxDelayMs` between reads; after `timeoutMs` a WAIT_TIMEOUT error names its last status (the
 * execution keeps running).
 */
export async function untilEnded<T extends { status: StoreStatus }>(execId: string, read: () => Promise<T>, options: { timeoutMs: number; maxDelayMs: number; hint: string }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let status: StoreStatus = 'PENDING';
  for (let delay = 10; Date.now() < deadline; delay = Math.min(delay * 2, options.maxDelayMs)) {
    const execution = await read();
    status = execution.status;
    if (isTerminal(execution.status)) return execution;
    await sleep(delay);
  }
  throw new CompozyError('WAIT_TIMEOUT', `Execution ${execId} did not finish within ${options.timeoutMs / 1000} s (last status ${status}).`, { hint: options.hint, details: { execId, status } });
}
