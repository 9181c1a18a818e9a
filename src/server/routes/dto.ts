import type { WorkflowDef } from '../../engine/definition.js';
import type { TaskState, WorkflowExecution, WorkflowExecutionWithTasks } from '../../store/store.js';

/** The API's JSON shapes (reference §2.6, §8.3): snake_case, as Compozy clients expect. */

export function workflowDto(def: WorkflowDef) {
  return {
    id: def.id,
    version: def.version ?? null,
    description: def.description ?? null,
    input: def.inputSchema ?? null,
    tasks: def.tasks.map((t) => ({ id: t.id, type: t.type })),
    outputs: def.outputs ?? null,
  };
}

export function taskStateDto(state: TaskState) {
  return {
    task_exec_id: state.taskExecId,
    task_id: state.taskId,
    component: state.component,
    status: state.status,
    execution_type: state.executionType,
    parent_state_id: state.parentStateId,
    agent_id: state.agentId,
    action_id: state.actionId,
    tool_id: state.toolId,
    workflow_id: state.workflowId,
    workflow_exec_id: state.workflowExecId,
    input: state.input,
    output: state.output,
    error: state.error,
    usage: state.usage,
    created_at: state.createdAt,
    updated_at: state.updatedAt,
  };
}

export function executionDto(execution: WorkflowExecution) {
  return {
    workflow_exec_id: execution.workflowExecId,
    workflow_id: execution.workflowId,
    status: execution.status,
    input: execution.input,
    output: execution.output,
    error: execution.error,
    usage: execution.usage,
    created_at: execution.createdAt,
    updated_at: execution.updatedAt,
  };
}

export function executionWithTasksDto(execution: WorkflowExecutionWithTasks) {
  return { ...executionDto(execution), tasks: Object.fromEntries(Object.entries(execution.tasks).map(([id, state]) => [id, taskStateDto(state)])) };
}
