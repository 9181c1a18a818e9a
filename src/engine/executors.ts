import type { MemoryTaskOptions, ModelSpec } from '../config/types.js';
import type { TemplateEngine } from '../expr/template.js';
import type { ExecutionStore } from '../store/store.js';
import type { TaskDef, WorkflowDef } from './definition.js';
import type { ExecutionObserver } from './observer.js';

/**
 * What a basic, signal or memory task needs from the rest of the platform. The engine depends on
 * these interfaces; the composition root supplies the tool runtime, the LLM layer, the signal
 * dispatcher and the memory service.
 */

export interface ToolInvoker {
  /** Runs a tool by id with the task's rendered input; returns the tool's result object. */
  call(toolId: string, input: Record<string, unknown>, options: { timeoutMs?: number }): Promise<Record<string, unknown>>;
}

/** One step of an agent call: a model answer (with its token usage), a tool call, or a tool's result. */
export type AgentStep =
  | { type: 'model_call'; step: number; text: string; finishReason: string; usage: { inputTokens: number; outputTokens: number } }
  | { type: 'tool_call'; step: number; toolCallId: string; toolId: string; input: unknown }
  | { type: 'tool_result'; step: number; toolCallId: string; toolId: string; output?: unknown; error?: { message: string } };

/** Where an agent step happened: its execution's workflow, its task execution and, when the task names one, its agent. */
export interface AgentStepScope {
  workflowId: string;
  taskExecId: string;
  taskId: string;
  agentId: string | null;
}

export interface AgentRequest {
  agentId?: string;
  actionId?: string;
  /** An ad-hoc prompt (with an agent) or a direct prompt (without one). */
  prompt?: string;
  model?: string | ModelSpec;
  /** The task's rendered `with`, `.input` in the action prompt. */
  input: Record<string, unknown>;
  /** The task's template context, for rendering instructions and prompts. */
  context: Record<string, unknown>;
  /** Told each step as it ends (the execution's stream shows them); the call waits for it. */
  onStep?: (step: AgentStep) => Promise<void>;
}

export interface AgentResult {
  output: Record<string, unknown>;
  usage?: { provider: string; model: string; input_tokens: number; output_tokens: number };
}

export interface AgentInvoker {
  run(request: AgentRequest): Promise<AgentResult>;
}

export interface SignalDispatcher {
  /** Sends an event: the workflow whose signal trigger has this name starts with the payload as input. */
  dispatch(name: string, payload: unknown, source: { workflowExecId: string }): Promise<void>;
}

export interface MemoryOperation {
  operation: string;
  memoryRef?: string;
  key: string;
  payload?: unknown;
  /** batch_size, max_keys and the flush/health/stats/clear configs of the task. */
  options?: MemoryTaskOptions;
  task: TaskDef;
}

export interface MemoryService {
  execute(operation: MemoryOperation): Promise<Record<string, unknown>>;
}

/** Everything the engine's activities use, supplied by the composition root. */
export interface EngineDeps {
  store: ExecutionStore;
  tools: ToolInvoker;
  agents: AgentInvoker;
  signals: SignalDispatcher;
  memory: MemoryService;
  templates?: TemplateEngine;
  /** Told when executions start and finish and when a task fails (the dev terminal's story). */
  observer?: ExecutionObserver;
  /** Records an agent task's steps (the execution's stream log); absent, they are not recorded. */
  agentSteps?: (execId: string, scope: AgentStepScope, step: AgentStep) => Promise<void>;
  /** The project's compiled workflows, which runs a Temporal Schedule fires start (scheduled-runs.ts). */
  workflows?: ReadonlyMap<string, WorkflowDef>;
}
