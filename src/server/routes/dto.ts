import type { TaskDef, WorkflowDef } from '../../engine/definition.js';
import { STATUSES, type TaskState, type WorkflowExecution, type WorkflowExecutionWithTasks } from '../../store/store.js';
import { ANY, list, object, STRING, STRING_OR_NULL } from './schemas.js';

/** The API's JSON shapes (reference §2.6, §8.3): snake_case, as Compozy clients expect. Each DTO has its response schema beside it. */

export const STATUS = { type: 'string', enum: [...STATUSES] };

export const WORKFLOW_SCHEMA = object({
  id: STRING,
  version: STRING_OR_NULL,
  description: STRING_OR_NULL,
  input: { description: 'the JSON Schema of the input, or null', ...ANY },
  tasks: list(
    object({
      id: STRING,
      type: STRING,
      on_success: { ...STRING_OR_NULL, description: 'on_success.next (a task id, or a template naming one); null ends the workflow' },
      on_error: { ...STRING_OR_NULL, description: 'on_error.next; null: a failure fails the workflow' },
      routes: { description: 'a router\'s routes: condition value to task id (an inline route by its id); null for other types', type: ['object', 'null'], additionalProperties: STRING },
      wait_for: { ...STRING_OR_NULL, description: 'a wait task\'s signal name' },
      on_timeout: { ...STRING_OR_NULL, description: 'a wait task\'s next task when it times out' },
      children: { description: 'the ids of the tasks a parallel, composite or collection task runs (a collection\'s may be a template)', ...list(STRING) },
    }),
  ),
  outputs: ANY,
});

function childrenOf(task: TaskDef): TaskDef[] {
  if (task.type === 'parallel' || task.type === 'composite') return task.tasks;
  if (task.type === 'collection') return task.task ? [task.task] : (task.tasks ?? []);
  return [];
}

/** A task and where it goes next, for the dashboard's graph and the CLI's `workflow show`. */
function workflowTaskDto(task: TaskDef) {
  return {
    id: task.id,
    type: task.type,
    on_success: task.onSuccess?.next ?? null,
    on_error: task.onError?.next ?? null,
    routes: task.type === 'router' ? Object.fromEntries(Object.entries(task.routes).map(([key, route]) => [key, typeof route === 'string' ? route : route.id])) : null,
    wait_for: task.type === 'wait' ? (task.waitFor ?? null) : null,
    on_timeout: task.type === 'wait' ? (task.onTimeout ?? null) : null,
    children: childrenOf(task).map((child) => child.id),
  };
}

export function workflowDto(def: WorkflowDef) {
  return {
    id: def.id,
    version: def.version ?? null,
    description: def.description ?? null,
    input: def.inputSchema ?? null,
    tasks: def.tasks.map(workflowTaskDto),
    outputs: def.outputs ?? null,
  };
}

export const TASK_STATE_SCHEMA = object({
  task_exec_id: STRING,
  task_id: STRING,
  component: { type: 'string', enum: ['task', 'agent', 'tool'] },
  status: STATUS,
  execution_type: STRING,
  parent_state_id: STRING_OR_NULL,
  agent_id: STRING_OR_NULL,
  action_id: STRING_OR_NULL,
  tool_id: STRING_OR_NULL,
  workflow_id: STRING,
  workflow_exec_id: STRING,
  input: ANY,
  output: ANY,
  error: ANY,
  usage: ANY,
  created_at: STRING,
  updated_at: STRING,
});

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

const EXECUTION_PROPERTIES = {
  workflow_exec_id: STRING,
  workflow_id: STRING,
  status: STATUS,
  input: ANY,
  output: ANY,
  error: { description: '{code, message, …} when it failed, else null', ...ANY },
  usage: ANY,
  created_at: STRING,
  updated_at: STRING,
};

export const EXECUTION_SCHEMA = object(EXECUTION_PROPERTIES);

export const EXECUTION_WITH_TASKS_SCHEMA = object({ ...EXECUTION_PROPERTIES, tasks: { type: 'object', description: 'task states keyed by task id', additionalProperties: TASK_STATE_SCHEMA } });

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
