import type { ExecutionError, Status } from '../store/store.js';
import type { TaskDef, WorkflowDef } from './definition.js';
import type { Strategy } from './progress.js';

/**
 * What the interpreter workflow and the engine activities exchange. Plain data only: every value
 * here is recorded in Temporal history.
 */

/** Where a task runs: its parent task and the variables its templates see (item/index, signal). */
export interface TaskScope {
  parent?: { id: string; taskExecId: string };
  vars: Record<string, unknown>;
  /** The previous task's transition `with`, merged over this task's own. */
  with?: Record<string, unknown>;
}

export interface TaskRequest<T extends TaskDef = TaskDef> {
  execId: string;
  workflowId: string;
  env: Record<string, string>;
  task: T;
  taskExecId: string;
  scope: TaskScope;
  /** Attempts the workflow allows; the last one records the failure instead of throwing. */
  maxAttempts: number;
}

export interface TaskOutcome {
  taskExecId: string;
  taskId: string;
  status: Status;
  error?: ExecutionError;
  /** The next task id (rendered on_success / on_error / route). */
  next?: string;
  /** A router's inline route: a task config to run next. */
  inline?: TaskDef;
  /** The rendered `with` of the transition taken, for the next task. */
  nextWith?: Record<string, unknown>;
}

/**
 * A parent's children as history carries them: each child names its task template by index, so a
 * collection of 10,000 items carries its template once, not 10,000 times.
 */
export interface ChildList {
  templates: TaskDef[];
  items: ChildItem[];
}

export interface ChildItem {
  template: number;
  /** The child's task id (a collection's is rendered with its item). */
  id: string;
  /** The item and index variables of a collection's child. */
  vars?: Record<string, unknown>;
}

export type Expansion = { ok: true; children: ChildList; itemCount: number; skippedCount: number } | { ok: false; outcome: TaskOutcome };

/** One batch of a large parent's children, run in its own child workflow (compozyBatch). */
export interface BatchInput {
  def: WorkflowDef;
  execId: string;
  /** The parent task's request. */
  request: TaskRequest;
  children: ChildList;
  /** The children's task execution ids, minted by the parent's run. */
  ids: string[];
  concurrency: number;
  strategy: Strategy;
  depth: number;
  /** Whether the execution is paused as the batch starts. */
  paused: boolean;
}

export interface ChildResult {
  taskExecId: string;
  taskId: string;
  status: Status;
  error?: ExecutionError;
}

export interface FinishParentRequest extends TaskRequest {
  children: ChildResult[];
  collection?: { itemCount: number; skippedCount: number };
}

export interface SignalEnvelope {
  payload: unknown;
  metadata: { signal_id: string; signal_name: string; workflow_id: string; workflow_exec_id: string; received_at: string };
}

export interface SettleWaitRequest<T extends TaskDef = TaskDef> extends TaskRequest<T> {
  signal?: SignalEnvelope;
  /** The processor task run for this signal, whose output and error the condition sees. */
  processorExecId?: string;
  timedOut?: boolean;
}

export interface RunInput {
  def: WorkflowDef;
  execId: string;
  /** Start here instead of the first task (the API's task_id, or where continue-as-new resumes). */
  startTaskId?: string;
  /** Signals received but not yet consumed, carried over continue-as-new. */
  pendingSignals?: SignalEnvelope[];
  /** Unhandled task failure carried over continue-as-new. */
  failure?: ExecutionError;
  /** A transition `with` for the start task, carried over continue-as-new. */
  startWith?: Record<string, unknown>;
}

/** The argument a project's Temporal Schedule starts its scheduled-run workflow with. */
export interface ScheduledRunRequest {
  /** The Compozy workflow id. */
  workflowId: string;
  /** The schedule's input: every run's input. */
  input: Record<string, unknown>;
}

export interface CompleteWorkflowRequest {
  execId: string;
  env: Record<string, string>;
  outputs?: Record<string, unknown>;
  failure?: ExecutionError;
  canceled?: boolean;
}

/** The workflow's result in Temporal; the output is in the execution store (GET the execution). */
export interface RunResult {
  status: Status;
  error: ExecutionError | null;
}

export interface LiveState {
  execId: string;
  workflowId: string;
  status: Status;
  paused: boolean;
  running: string[];
  tasks: Record<string, Status>;
}
