import type { NativeToolsConfig } from '../../config/native-tools.js';
import { CompozyError } from '../../errors.js';
import { nativeError } from './errors.js';

/** A child execution a cp__call_* tool asks for: an agent's action or prompt, a workflow's task, or a workflow. */
export type ChildRequest =
  | { kind: 'agent'; agentId: string; actionId?: string; prompt?: string; with?: Record<string, unknown> }
  | { kind: 'task'; taskId: string; with?: Record<string, unknown> }
  | { kind: 'workflow'; workflowId: string; input?: Record<string, unknown>; initialTaskId?: string };

export interface ChildResult {
  execId: string;
  /** False when the timeout passed first (the child is then canceled). */
  ended: boolean;
  status: string;
  output?: unknown;
  error?: { code?: string; message: string } | null;
}

/**
 * How the built-in call tools start executions: supplied by the composition root (the engine client),
 * so a call runs as its own stored execution on the workers, like a direct execution.
 */
export interface NativeCalls {
  run(request: ChildRequest, timeoutMs: number): Promise<ChildResult>;
}

type CallConfig = NativeToolsConfig['callAgent'];

function timeoutFor(tool: string, config: CallConfig, requested: unknown): number {
  if (typeof requested === 'number' && requested < 0) throw nativeError(tool, 'InvalidArgument', 'timeout_ms must be non-negative', { field: 'timeout_ms' });
  return typeof requested === 'number' && requested > 0 ? requested : config.defaultTimeoutMs;
}

function enabled(tool: string, config: CallConfig): void {
  if (!config.enabled) throw nativeError(tool, 'PermissionDenied', `${tool} is disabled (runtime.native_tools.${tool.slice(4)}.enabled: false)`);
}

function childFailed(tool: string, what: string, result: ChildResult, timeoutMs: number): CompozyError {
  if (!result.ended) return new CompozyError('TOOL_TIMEOUT', `${tool}: ${what} did not finish within ${timeoutMs} ms (execution ${result.execId}, canceled).`, { details: { code: 'DeadlineExceeded', tool, exec_id: result.execId } });
  const cause = result.error ? `${result.error.code ?? 'error'}: ${result.error.message}` : result.status;
  return new CompozyError('TOOL_FAILED', `${tool}: ${what} ended ${result.status} (${cause}).`, { details: { code: result.error?.code ?? 'Internal', tool, exec_id: result.execId, status: result.status } });
}

function object(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
}

export interface AgentCallInput {
  agent_id: string;
  action_id?: string;
  prompt?: string;
  with?: Record<string, unknown>;
  timeout_ms?: number;
}

/** cp__call_agent (Go callagent/handler.go): {success, agent_id, action_id, exec_id, response}; a failed run is the tool's error. */
export async function callAgent(calls: NativeCalls, config: NativeToolsConfig, input: AgentCallInput, tool = 'cp__call_agent'): Promise<Record<string, unknown>> {
  enabled(tool, config.callAgent);
  const agentId = input.agent_id.trim();
  if (agentId === '') throw nativeError(tool, 'InvalidArgument', 'agent_id is required', { field: 'agent_id' });
  const actionId = input.action_id?.trim() || undefined;
  const prompt = input.prompt?.trim() || undefined;
  if (!actionId && !prompt) throw nativeError(tool, 'InvalidArgument', 'either action_id or prompt must be provided', { field: 'action_id' });
  const timeoutMs = timeoutFor(tool, config.callAgent, input.timeout_ms);
  const result = await calls.run({ kind: 'agent', agentId, ...(actionId ? { actionId } : {}), ...(prompt ? { prompt } : {}), ...(input.with ? { with: input.with } : {}) }, timeoutMs);
  if (!result.ended || result.status !== 'SUCCESS') throw childFailed(tool, `agent "${agentId}"`, result, timeoutMs);
  return { success: true, agent_id: agentId, ...(actionId ? { action_id: actionId } : {}), exec_id: result.execId, response: object(result.output) };
}

/**
 * cp__call_agents (Go callagents): each agent in order, max_concurrent at a time (0: one after the
 * other); a failure is that entry's {success: false, error: {message, code}}, not the tool's.
 */
export async function callAgents(calls: NativeCalls, config: NativeToolsConfig, input: { agents: AgentCallInput[] }): Promise<Record<string, unknown>> {
  const tool = 'cp__call_agents';
  enabled(tool, config.callAgents);
  const started = performance.now();
  const single = { ...config, callAgent: { enabled: true, defaultTimeoutMs: config.callAgents.defaultTimeoutMs } };
  const results: Array<Record<string, unknown>> = new Array(input.agents.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < input.agents.length; i = next++) {
      const entry = input.agents[i] as AgentCallInput;
      const begun = performance.now();
      try {
        const out = await callAgent(calls, single, entry, tool);
        results[i] = { ...out, duration_ms: Math.round(performance.now() - begun) };
      } catch (error) {
        const code = error instanceof CompozyError ? String(error.details?.code ?? error.code) : 'Internal';
        results[i] = { success: false, agent_id: entry.agent_id, ...(entry.action_id ? { action_id: entry.action_id } : {}), ...(error instanceof CompozyError && typeof error.details?.exec_id === 'string' ? { exec_id: error.details.exec_id } : {}), error: { message: (error as Error).message, code }, duration_ms: Math.round(performance.now() - begun) };
      }
    }
  };
  const width = Math.max(1, Math.min(config.callAgents.maxConcurrent, input.agents.length));
  await Promise.all(Array.from({ length: width }, worker));
  const successes = results.filter((r) => r.success === true).length;
  return { results, total_count: results.length, success_count: successes, failure_count: results.length - successes, total_duration_ms: Math.round(performance.now() - started) };
}

/** cp__call_task (Go calltask): {success, task_id, exec_id, output, duration_ms}; a failed run is the tool's error. */
export async function callTask(calls: NativeCalls, config: NativeToolsConfig, input: { task_id: string; with?: Record<string, unknown>; timeout_ms?: number }): Promise<Record<string, unknown>> {
  const tool = 'cp__call_task';
  enabled(tool, config.callTask);
  const taskId = input.task_id.trim();
  if (taskId === '') throw nativeError(tool, 'InvalidArgument', 'task_id is required', { field: 'task_id' });
  const timeoutMs = timeoutFor(tool, config.callTask, input.timeout_ms);
  const started = performance.now();
  const result = await calls.run({ kind: 'task', taskId, ...(input.with ? { with: input.with } : {}) }, timeoutMs);
  if (!result.ended || result.status !== 'SUCCESS') throw childFailed(tool, `task "${taskId}"`, result, timeoutMs);
  return { success: true, task_id: taskId, exec_id: result.execId, output: object(result.output), duration_ms: Math.round(performance.now() - started) };
}

/**
 * cp__call_workflow (Go callworkflow): {success, workflow_id, workflow_exec_id, status, output,
 * duration_ms}; a workflow that ends FAILED or CANCELED is success: false with its status (and error).
 */
export async function callWorkflow(calls: NativeCalls, config: NativeToolsConfig, input: { workflow_id: string; input?: Record<string, unknown>; initial_task_id?: string; timeout_ms?: number }): Promise<Record<string, unknown>> {
  const tool = 'cp__call_workflow';
  enabled(tool, config.callWorkflow);
  const workflowId = input.workflow_id.trim();
  if (workflowId === '') throw nativeError(tool, 'InvalidArgument', 'workflow_id is required', { field: 'workflow_id' });
  const timeoutMs = timeoutFor(tool, config.callWorkflow, input.timeout_ms);
  const initialTaskId = input.initial_task_id?.trim() || undefined;
  const started = performance.now();
  const result = await calls.run({ kind: 'workflow', workflowId, ...(input.input ? { input: input.input } : {}), ...(initialTaskId ? { initialTaskId } : {}) }, timeoutMs);
  if (!result.ended) throw childFailed(tool, `workflow "${workflowId}"`, result, timeoutMs);
  return {
    success: result.status === 'SUCCESS',
    workflow_id: workflowId,
    workflow_exec_id: result.execId,
    status: result.status,
    ...(result.output !== undefined && result.output !== null ? { output: object(result.output) } : {}),
    ...(result.error ? { error: result.error } : {}),
    duration_ms: Math.round(performance.now() - started),
  };
}
