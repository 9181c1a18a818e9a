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

export function childFailed(tool: string, what: string, result: ChildResult, timeoutMs: number): CompozyError {
  if (!result.ended) return new CompozyError('TOOL_TIMEOUT', `${tool}: ${what} did not finish within ${timeoutMs} ms (execution ${result.execId}, canceled).`, { details: { code: 'DeadlineExceeded', tool, exec_id: result.execId } });
  const cause = result.error ? `${result.error.code ?? 'error'}: ${result.error.message}` : result.status;
  return new CompozyError('TOOL_FAILED', `${tool}: ${what} ended ${result.status} (${cause}).`, { details: { code: result.error?.code ?? 'Internal', tool, exec_id: result.execId, status: result.status } });
}

/** The id a call names, trimmed; InvalidArgument when it is empty. */
function requiredId(tool: string, value: string, field: string): string {
  const id = value.trim();
  if (id === '') throw nativeError(tool, 'InvalidArgument', `${field} is required`, { field });
  return id;
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
  const agentId = requiredId(tool, input.agent_id, 'agent_id');
  const actionId = input.action_id?.trim() || undefined;
  const prompt = input.prompt?.trim() || undefined;
  if (!actionId && !prompt) throw nativeError(tool, 'InvalidArgument', 'either action_id or prompt must be provided', { field: 'action_id' });
  const timeoutMs = timeoutFor(tool, config.callAgent, input.timeout_ms);
  const result = await calls.run({ kind: 'agent', agentId, ...(actionId ? { actionId } : {}), ...(prompt ? { prompt } : {}), ...(input.with ? { with: input.with } : {}) }, timeoutMs);
  if (!result.ended || result.status !== 'SUCCESS') throw childFailed(tool, `agent "${agentId}"`, result, timeoutMs);
  return { success: true, agent_id: agentId, ...(actionId ? { action_id: actionId } : {}), exec_id: result.execId, response: object(result.output) };
}

/** A failed entry of a plural call tool: {message, code} (the Go engine's ErrorDetails), with its execution when there was one. */
function entryError(error: unknown): { error: { message: string; code: string }; exec_id?: string } {
  const typed = error instanceof CompozyError ? error : undefined;
  const execId = typed?.details?.exec_id;
  return { error: { message: (error as Error).message, code: typed ? String(typed.details?.code ?? typed.code) : 'Internal' }, ...(typeof execId === 'string' ? { exec_id: execId } : {}) };
}

/**
 * The plural call tools (Go callagents, calltasks, callworkflows): each entry in input order,
 * max_concurrent at a time (0: one after the other); a failure is that entry's {success: false,
 * error}, never the tool's.
 */
async function fanOut<T>(items: readonly T[], maxConcurrent: number, run: (item: T) => Promise<Record<string, unknown>>, failed: (item: T) => Record<string, unknown>): Promise<Record<string, unknown>> {
  const started = performance.now();
  const results: Array<Record<string, unknown>> = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      const item = items[i] as T;
      const begun = performance.now();
      try {
        results[i] = { ...(await run(item)), duration_ms: Math.round(performance.now() - begun) };
      } catch (error) {
        results[i] = { success: false, ...failed(item), ...entryError(error), duration_ms: Math.round(performance.now() - begun) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(maxConcurrent, items.length)) }, worker));
  const successes = results.filter((r) => r.success === true).length;
  return { results, total_count: results.length, success_count: successes, failure_count: results.length - successes, total_duration_ms: Math.round(performance.now() - started) };
}

/** A single call's result as a plural tool's entry, whose duration_ms fanOut measures itself. */
function withoutDuration({ duration_ms: _duration, ...out }: Record<string, unknown>): Record<string, unknown> {
  return out;
}

export function callAgents(calls: NativeCalls, config: NativeToolsConfig, input: { agents: AgentCallInput[] }): Promise<Record<string, unknown>> {
  const tool = 'cp__call_agents';
  enabled(tool, config.callAgents);
  const single = { ...config, callAgent: { enabled: true, defaultTimeoutMs: config.callAgents.defaultTimeoutMs } };
  return fanOut(input.agents, config.callAgents.maxConcurrent, (entry) => callAgent(calls, single, entry, tool), (entry) => ({ agent_id: entry.agent_id, ...(entry.action_id ? { action_id: entry.action_id } : {}) }));
}

export function callTasks(calls: NativeCalls, config: NativeToolsConfig, input: { tasks: TaskCallInput[] }): Promise<Record<string, unknown>> {
  const tool = 'cp__call_tasks';
  enabled(tool, config.callTasks);
  const single = { ...config, callTask: { enabled: true, defaultTimeoutMs: config.callTasks.defaultTimeoutMs } };
  return fanOut(input.tasks, config.callTasks.maxConcurrent, async (entry) => withoutDuration(await callTask(calls, single, entry, tool)), (entry) => ({ task_id: entry.task_id }));
}

export function callWorkflows(calls: NativeCalls, config: NativeToolsConfig, input: { workflows: WorkflowCallInput[] }): Promise<Record<string, unknown>> {
  const tool = 'cp__call_workflows';
  enabled(tool, config.callWorkflows);
  const single = { ...config, callWorkflow: { enabled: true, defaultTimeoutMs: config.callWorkflows.defaultTimeoutMs } };
  return fanOut(input.workflows, config.callWorkflows.maxConcurrent, async (entry) => withoutDuration(await callWorkflow(calls, single, entry, tool)), (entry) => ({ workflow_id: entry.workflow_id, status: '' }));
}

export interface TaskCallInput {
  task_id: string;
  with?: Record<string, unknown>;
  timeout_ms?: number;
}

/** cp__call_task (Go calltask): {success, task_id, exec_id, output, duration_ms}; a failed run is the tool's error. */
export async function callTask(calls: NativeCalls, config: NativeToolsConfig, input: TaskCallInput, tool = 'cp__call_task'): Promise<Record<string, unknown>> {
  enabled(tool, config.callTask);
  const taskId = requiredId(tool, input.task_id, 'task_id');
  const timeoutMs = timeoutFor(tool, config.callTask, input.timeout_ms);
  const started = performance.now();
  const result = await calls.run({ kind: 'task', taskId, ...(input.with ? { with: input.with } : {}) }, timeoutMs);
  if (!result.ended || result.status !== 'SUCCESS') throw childFailed(tool, `task "${taskId}"`, result, timeoutMs);
  return { success: true, task_id: taskId, exec_id: result.execId, output: object(result.output), duration_ms: Math.round(performance.now() - started) };
}

export interface WorkflowCallInput {
  workflow_id: string;
  input?: Record<string, unknown>;
  initial_task_id?: string;
  timeout_ms?: number;
}

/**
 * cp__call_workflow (Go callworkflow): {success, workflow_id, workflow_exec_id, status, output,
 * duration_ms}; a workflow that ends FAILED or CANCELED is success: false with its status (and error).
 */
export async function callWorkflow(calls: NativeCalls, config: NativeToolsConfig, input: WorkflowCallInput, tool = 'cp__call_workflow'): Promise<Record<string, unknown>> {
  enabled(tool, config.callWorkflow);
  const workflowId = requiredId(tool, input.workflow_id, 'workflow_id');
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
