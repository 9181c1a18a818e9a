import { TASK_TYPES } from '../config/types.js';
import { CompozyError } from '../errors.js';
import { STATUSES, type ExecutionError, type ListOptions, type Status, type TaskContextQuery, type TaskState, type TaskStateWrite } from './store.js';

export function invalid(message: string): CompozyError {
  return new CompozyError('STORE_INVALID_ARGUMENT', message, { hint: 'See the ExecutionStore contract in src/store/store.ts.' });
}

export function notFound(workflowExecId: string): CompozyError {
  return new CompozyError('STORE_NOT_FOUND', `Workflow execution ${workflowExecId} does not exist.`, { hint: 'Check the execution id (a 27-character KSUID).' });
}

export function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`${what} must be a non-empty string.`);
  return value;
}

export function checkStatus(value: unknown): Status {
  if (!(STATUSES as readonly unknown[]).includes(value)) throw invalid(`status must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(value)}.`);
  return value as Status;
}

export function checkError(value: unknown): ExecutionError | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || typeof (value as ExecutionError).message !== 'string') throw invalid('error must be null or {message, code?, details?}.');
  return value as ExecutionError;
}

/** JSON text for a stored document; values JSON cannot carry are refused, not mangled. */
export function toJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    throw invalid(`${what} is not JSON-serialisable: ${(error as Error).message}`);
  }
  return text ?? 'null';
}

export function checkTaskState(state: TaskStateWrite): void {
  checkId(state.taskExecId, 'taskExecId');
  checkId(state.taskId, 'taskId');
  checkId(state.workflowExecId, 'workflowExecId');
  checkId(state.workflowId, 'workflowId');
  checkStatus(state.status);
  if (!['task', 'agent', 'tool'].includes(state.component)) throw invalid(`component must be task, agent or tool, got ${JSON.stringify(state.component)}.`);
  if (!(TASK_TYPES as readonly string[]).includes(state.executionType)) {
    throw invalid(`executionType ${JSON.stringify(state.executionType)} is not a task type.`);
  }
  checkError(state.error);
}

export interface ResolvedList {
  workflowId: string | undefined;
  status: Status | undefined;
  limit: number;
  after: { createdAt: string; workflowExecId: string } | undefined;
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function resolveList(options: ListOptions): ResolvedList {
  const limit = options.limit ?? 50;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) throw invalid(`limit must be an integer from 1 to 500, got ${limit}.`);
  let after: ResolvedList['after'];
  if (options.cursor !== undefined) {
    try {
      const [createdAt, workflowExecId] = JSON.parse(Buffer.from(options.cursor, 'base64url').toString()) as [unknown, unknown];
      // The timestamp reaches SQL (a timestamptz in Postgres), so only the ISO form encodeCursor writes is accepted.
      if (typeof createdAt !== 'string' || !ISO_TIMESTAMP.test(createdAt) || Number.isNaN(Date.parse(createdAt)) || typeof workflowExecId !== 'string') throw new Error('shape');
      after = { createdAt, workflowExecId };
    } catch {
      throw invalid(`cursor "${options.cursor}" is not one this store returned.`);
    }
  }
  return { workflowId: options.workflowId, status: options.status === undefined ? undefined : checkStatus(options.status), limit, after };
}

/** Every status at 0, then the counted rows; statuses are checked so they can be bound into SQL. */
export function statusCounts(statuses: readonly Status[], rows: readonly { status: unknown; n: unknown }[]): Record<Status, number> {
  const counts = Object.fromEntries(statuses.map((s) => [checkStatus(s), 0])) as Record<Status, number>;
  for (const row of rows) counts[row.status as Status] = Number(row.n);
  return counts;
}

export function encodeCursor(createdAt: string, workflowExecId: string): string {
  return Buffer.from(JSON.stringify([createdAt, workflowExecId])).toString('base64url');
}

/** Task states keyed by task id, as the execution API shows them. */
export function tasksById(states: readonly TaskState[]): Record<string, TaskState> {
  return Object.fromEntries(states.map((state) => [state.taskId, state]));
}

export function checkContextQuery(query: TaskContextQuery): void {
  if (query.taskIds !== 'all' && !(Array.isArray(query.taskIds) && query.taskIds.every((id) => typeof id === 'string'))) throw invalid("taskIds must be a list of task ids or 'all'.");
  for (const id of query.taskExecIds ?? []) checkId(id, 'taskExecIds[]');
  if (query.childrenOf !== undefined) checkId(query.childrenOf, 'childrenOf');
}
