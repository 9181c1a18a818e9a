import { MAX_CONTEXT_DEPTH, type TaskState, type WorkflowExecution } from '../store/store.js';
import type { TaskRequest } from './protocol.js';

const PARENT_TYPES: ReadonlySet<string> = new Set(['parallel', 'collection', 'composite']);

export interface TaskView {
  id: string;
  input: unknown;
  status: string;
  error: unknown;
  output: unknown;
  children?: Record<string, TaskView>;
}

/**
 * `.tasks` of the template context (reference §3.2–§3.3): every task state keyed by task id, later
 * states shadowing earlier ones with the same id; a parent's output is `{output: <own>, <child>:
 * {output, status, error}}` and its children are under `children`.
 */
export function tasksView(states: readonly TaskState[]): Record<string, TaskView> {
  const childrenOf = new Map<string, TaskState[]>();
  for (const state of states) {
    if (state.parentStateId) childrenOf.set(state.parentStateId, [...(childrenOf.get(state.parentStateId) ?? []), state]);
  }
  const view = (state: TaskState, depth: number): TaskView => {
    const base = { id: state.taskId, input: state.input ?? {}, status: state.status, error: state.error };
    if (!PARENT_TYPES.has(state.executionType) || depth >= MAX_CONTEXT_DEPTH) return { ...base, output: state.output ?? {} };
    const children: Record<string, TaskView> = {};
    const output: Record<string, unknown> = { output: state.output ?? {} };
    for (const child of childrenOf.get(state.taskExecId) ?? []) {
      const childView = view(child, depth + 1);
      children[child.taskId] = childView;
      output[child.taskId] = { output: childView.output, status: child.status, ...(child.error ? { error: child.error } : {}) };
    }
    return { ...base, output, children };
  };
  const tasks: Record<string, TaskView> = {};
  for (const state of states) tasks[state.taskId] = view(state, 0);
  return tasks;
}

/**
 * The variables every template of an execution sees; `states` are the ones its templates read (all of
 * them, or the states readTaskContext returned for the task ids they name).
 */
export function workflowContext(execution: WorkflowExecution, states: readonly TaskState[], env: Record<string, string>): Record<string, unknown> {
  return {
    workflow: { id: execution.workflowId, exec_id: execution.workflowExecId, input: execution.input ?? {}, status: execution.status },
    tasks: tasksView(states),
    env,
  };
}

/** The variables a task's templates see, before `.input` (its rendered `with`) is added. */
export function templateContext(execution: WorkflowExecution, states: readonly TaskState[], request: TaskRequest, parentState: TaskState | undefined): Record<string, unknown> {
  const { task, scope } = request;
  return {
    ...workflowContext(execution, states, { ...request.env, ...task.env }),
    task: { id: task.id, type: task.type, action: task.type === 'basic' ? task.action : undefined, with: task.with, env: task.env },
    ...(scope.parent ? { parent: { id: scope.parent.id, input: parentState?.input ?? {}, with: parentState?.input ?? {} } } : {}),
    ...scope.vars,
  };
}
