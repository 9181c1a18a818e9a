import type { ExecutionError, Status, TaskState, WorkflowExecution, WorkflowExecutionWithTasks } from '../store/store.js';

export type { ExecutionError, Status } from '../store/store.js';

/** One task's state in an execution (children of collections, parallels and composites included). */
export interface TaskExecution {
  taskExecId: string;
  taskId: string;
  status: Status;
  /** The task's type: basic, collection, router… */
  executionType: string;
  /** The parent task's taskExecId for a child task; null at the top level. */
  parentStateId: string | null;
  agentId: string | null;
  actionId: string | null;
  toolId: string | null;
  input: unknown;
  output: unknown;
  error: ExecutionError | null;
  usage: unknown;
  createdAt: string;
  updatedAt: string;
}

/** A workflow execution as the store records it, with its task states keyed by task id. */
export interface Execution {
  execId: string;
  workflowId: string;
  status: Status;
  input: unknown;
  output: unknown;
  error: ExecutionError | null;
  usage: unknown;
  createdAt: string;
  updatedAt: string;
  tasks: Record<string, TaskExecution>;
}

/** A row of an execution list: the execution without its task states. */
export type ExecutionSummary = Omit<Execution, 'tasks'>;

export function taskExecution(state: TaskState): TaskExecution {
  return {
    taskExecId: state.taskExecId,
    taskId: state.taskId,
    status: state.status,
    executionType: state.executionType,
    parentStateId: state.parentStateId,
    agentId: state.agentId,
    actionId: state.actionId,
    toolId: state.toolId,
    input: state.input,
    output: state.output,
    error: state.error,
    usage: state.usage,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}

export function executionSummary(execution: WorkflowExecution): ExecutionSummary {
  return {
    execId: execution.workflowExecId,
    workflowId: execution.workflowId,
    status: execution.status,
    input: execution.input,
    output: execution.output,
    error: execution.error,
    usage: execution.usage,
    createdAt: execution.createdAt,
    updatedAt: execution.updatedAt,
  };
}

export function fromStore(execution: WorkflowExecutionWithTasks): Execution {
  return { ...executionSummary(execution), tasks: Object.fromEntries(Object.entries(execution.tasks).map(([id, state]) => [id, taskExecution(state)])) };
}

type Dto = Record<string, unknown>;

/** The HTTP API's snake_case shapes (reference §2.6) as the same types. */
export function summaryFromDto(dto: Dto): ExecutionSummary {
  return {
    execId: String(dto.workflow_exec_id),
    workflowId: String(dto.workflow_id),
    status: dto.status as Status,
    input: dto.input,
    output: dto.output,
    error: (dto.error ?? null) as ExecutionError | null,
    usage: dto.usage ?? null,
    createdAt: String(dto.created_at),
    updatedAt: String(dto.updated_at),
  };
}

export function fromDto(dto: Dto): Execution {
  const tasks = (dto.tasks ?? {}) as Record<string, Dto>;
  return {
    ...summaryFromDto(dto),
    tasks: Object.fromEntries(
      Object.entries(tasks).map(([id, t]) => [
        id,
        {
          taskExecId: String(t.task_exec_id),
          taskId: String(t.task_id),
          status: t.status as Status,
          executionType: String(t.execution_type),
          parentStateId: (t.parent_state_id ?? null) as string | null,
          agentId: (t.agent_id ?? null) as string | null,
          actionId: (t.action_id ?? null) as string | null,
          toolId: (t.tool_id ?? null) as string | null,
          input: t.input,
          output: t.output,
          error: (t.error ?? null) as ExecutionError | null,
          usage: t.usage ?? null,
          createdAt: String(t.created_at),
          updatedAt: String(t.updated_at),
        },
      ]),
    ),
  };
}
