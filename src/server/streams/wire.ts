import { isTerminal } from '../../engine/progress.js';
import type { LoggedRecord, StreamRecord } from '../../engine/stream-log.js';
import type { Status } from '../../store/store.js';
import { executionDto, taskStateDto } from '../routes/dto.js';

/** Every event name an execution stream sends (the `events=` filter takes these). */
export const STREAM_EVENTS = [
  'execution.status',
  'execution.finished',
  'task.started',
  'task.succeeded',
  'task.failed',
  'task.status',
  'agent.model_call',
  'agent.tool_call',
  'agent.tool_result',
] as const;
export type StreamEventName = (typeof STREAM_EVENTS)[number];

export function taskEventName(status: Status): StreamEventName {
  switch (status) {
    case 'RUNNING':
      return 'task.started';
    case 'SUCCESS':
      return 'task.succeeded';
    case 'FAILED':
    case 'TIMED_OUT':
    case 'CANCELED':
      return 'task.failed';
    default:
      return 'task.status';
  }
}

/** Whether this record ends its execution's stream. */
export function endsStream(record: StreamRecord): boolean {
  return record.kind === 'execution' && isTerminal(record.execution.status);
}

/** A record as the SSE event the API sends: its name and its data (snake_case, the API's DTOs). */
export function wireEvent({ execId, record }: Pick<LoggedRecord, 'execId' | 'record'>): { name: StreamEventName; data: Record<string, unknown> } {
  switch (record.kind) {
    case 'execution':
      return {
        name: isTerminal(record.execution.status) ? 'execution.finished' : 'execution.status',
        data: { exec_id: execId, workflow_id: record.execution.workflowId, at: record.at, execution: executionDto(record.execution) },
      };
    case 'task':
      return { name: taskEventName(record.state.status), data: { exec_id: execId, workflow_id: record.state.workflowId, at: record.at, task: taskStateDto(record.state) } };
    case 'agent': {
      const { scope, step } = record;
      const base = { exec_id: execId, workflow_id: scope.workflowId, at: record.at, task_exec_id: scope.taskExecId, task_id: scope.taskId, agent_id: scope.agentId, step: step.step };
      switch (step.type) {
        case 'model_call':
          return { name: 'agent.model_call', data: { ...base, text: step.text, finish_reason: step.finishReason, usage: { input_tokens: step.usage.inputTokens, output_tokens: step.usage.outputTokens } } };
        case 'tool_call':
          return { name: 'agent.tool_call', data: { ...base, tool_call_id: step.toolCallId, tool_id: step.toolId, input: step.input } };
        case 'tool_result':
          return { name: 'agent.tool_result', data: { ...base, tool_call_id: step.toolCallId, tool_id: step.toolId, output: step.output ?? null, error: step.error ?? null } };
      }
    }
  }
}
