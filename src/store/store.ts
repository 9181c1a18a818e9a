import type { TaskType } from '../config/types.js';
import type { ApiKeyStore } from './api-keys.js';

/**
 * The execution store: workflow executions and their task states, in the shapes of Compozy's API
 * (reference §2.6). Adapters: SQLite (standalone, `.compozy/compozy.db`) and PostgreSQL
 * (distributed, DATABASE_URL). Writes are idempotent upserts keyed by execution id, so an activity
 * that is retried never duplicates a row.
 */

export const STATUSES = ['PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMED_OUT', 'CANCELED', 'WAITING', 'PAUSED'] as const;
export type Status = (typeof STATUSES)[number];

export interface ExecutionError {
  message: string;
  code?: string;
  details?: Record<string, unknown>;
}

export interface WorkflowExecution {
  workflowExecId: string;
  workflowId: string;
  status: Status;
  input: unknown;
  output: unknown;
  error: ExecutionError | null;
  usage: unknown;
  createdAt: string;
  updatedAt: string;
}

/** A task state's execution type is its task's type. */
export type ExecutionType = TaskType;

export interface TaskState {
  taskExecId: string;
  taskId: string;
  workflowExecId: string;
  workflowId: string;
  component: 'task' | 'agent' | 'tool';
  status: Status;
  executionType: ExecutionType;
  parentStateId: string | null;
  agentId: string | null;
  actionId: string | null;
  toolId: string | null;
  input: unknown;
  output: unknown;
  error: ExecutionError | null;
  /** Token usage of an agent task: {provider, model, input_tokens, output_tokens}. */
  usage: unknown;
  createdAt: string;
  updatedAt: string;
}

export interface WorkflowExecutionWithTasks extends WorkflowExecution {
  /** Keyed by task id, children included (reference: populateTaskStates). */
  tasks: Record<string, TaskState>;
  /** Every task state in the order first written, including ones a later state with the same task id shadows in `tasks`. */
  taskStates: TaskState[];
}

/** What one activity reads of an execution (readTaskContext): only the task states its templates name. */
export interface TaskContextQuery {
  /**
   * Task ids whose latest state is wanted, with that state's descendants as deep as a template can
   * read them (MAX_CONTEXT_DEPTH); 'all': every state of the execution.
   */
  taskIds: readonly string[] | 'all';
  /** States wanted by their exec id (the task's own, its parent's, a wait's processor). */
  taskExecIds?: readonly string[];
  /** A parent whose direct children are wanted. */
  childrenOf?: string;
  /** Leave the execution's input out (undefined): it never changes, so a caller may keep it from its first read. */
  withoutInput?: boolean;
}

export interface TaskContext {
  execution: WorkflowExecution;
  /** The states `taskIds` names and their descendants, in the order first written. */
  tasks: TaskState[];
  /** The states `taskExecIds` names that exist. */
  states: TaskState[];
  /** The direct children of `childrenOf`, in the order first written. */
  children: TaskState[];
}

/** How deep a template reads into a parent's children (`.tasks.<parent>.output.<child>…`; reference: max_task_context_depth). */
export const MAX_CONTEXT_DEPTH = 10;

export interface ListOptions {
  workflowId?: string;
  status?: Status;
  /** 1–500, default 50. */
  limit?: number;
  /** From a previous page's nextCursor. */
  cursor?: string;
}

export interface ExecutionPage {
  items: WorkflowExecution[];
  nextCursor: string | null;
}

export type NewWorkflowExecution = Pick<WorkflowExecution, 'workflowExecId' | 'workflowId' | 'input'> & Partial<Pick<WorkflowExecution, 'status'>>;
export type WorkflowExecutionPatch = Partial<Pick<WorkflowExecution, 'status' | 'output' | 'error' | 'usage'>>;
export type TaskStateWrite = Omit<TaskState, 'createdAt' | 'updatedAt' | 'parentStateId' | 'agentId' | 'actionId' | 'toolId' | 'output' | 'error' | 'usage'> &
  Partial<Pick<TaskState, 'parentStateId' | 'agentId' | 'actionId' | 'toolId' | 'output' | 'error' | 'usage'>>;

export interface StoreInfo {
  driver: 'sqlite' | 'postgres';
  location: string;
  executions: number;
  /** A storage problem the backend has now (locked, disk full, I/O errors): health shows the component degraded. */
  degraded?: { code: string; message: string };
}

export interface ExecutionStore {
  readonly driver: 'sqlite' | 'postgres';
  /** The API keys kept in the same database (both adapters); absent on a store that keeps none, such as a test double. */
  readonly apiKeys?: ApiKeyStore;
  /** Creates the execution; when it already exists (a retried activity) returns the stored one unchanged. */
  createWorkflowExecution(execution: NewWorkflowExecution): Promise<WorkflowExecution>;
  /** Throws STORE_NOT_FOUND for an unknown execution. */
  updateWorkflowExecution(workflowExecId: string, patch: WorkflowExecutionPatch): Promise<WorkflowExecution>;
  getWorkflowExecution(workflowExecId: string): Promise<WorkflowExecutionWithTasks | null>;
  /** Whether the execution exists, without reading it. */
  exists(workflowExecId: string): Promise<boolean>;
  /** The execution row and the task states one task's activity needs, in one read; null for an unknown execution. */
  readTaskContext(workflowExecId: string, query: TaskContextQuery): Promise<TaskContext | null>;
  /** Newest first. */
  listWorkflowExecutions(options?: ListOptions): Promise<ExecutionPage>;
  /** Inserts or replaces the state of one task execution (by taskExecId). */
  upsertTaskState(state: TaskStateWrite): Promise<TaskState>;
  /** In the order the task states were first written. */
  listTaskStates(workflowExecId: string): Promise<TaskState[]>;
  /** How many executions have each of the given statuses (0 included); an index keeps it cheap for unfinished ones. */
  countByStatus(statuses: readonly Status[]): Promise<Record<Status, number>>;
  ping(): Promise<void>;
  info(): Promise<StoreInfo>;
  close(): Promise<void>;
}
