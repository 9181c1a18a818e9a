import type { ModelMessage, StepResult, ToolSet } from 'ai';
import type { AgentConfig, ModelConfig } from '../config/types.js';
import { MODEL_PARAMS } from '../config/providers.js';
import { resolveSchema, type ResourceIndex } from '../engine/definition.js';
import type { AgentInvoker, AgentRequest, AgentResult, AgentStep, ToolInvoker } from '../engine/executors.js';
import { CompozyError, errorMessage } from '../errors.js';
import { templates } from '../expr/template.js';
import { describeProblems, SchemaValidator } from '../platform/schema-validator.js';
import { jsonInstruction, parseJsonObject } from './json-output.js';
import { modelUnusable, resolveModel, type ResolvedModel } from './models.js';
import { ReplayFixtures, type ModelScript } from './replay.js';
import { plural } from '../platform/plural.js';
import type { NativeToolSpec } from '../tools/native/index.js';
import { memoryKeyTemplate, type MemoryInstance, type MemoryManager, type MemoryMessage } from '../memory/service.js';

export interface LlmAgentsOptions {
  projectDir: string;
  models: readonly ModelConfig[];
  resources: ResourceIndex;
  tools: ToolInvoker;
  /** Process environment over the project's .env: api keys and model refs resolve against it. */
  env: NodeJS.ProcessEnv;
  /** Extra attempts when a JSON answer is not valid against the action's output schema (default 2). */
  structuredOutputRetries?: number;
  /**
   * Answers every model call instead of the model the agent names (`compozy test`, `compozy/testing`):
   * no provider is resolved or called, and the answers go through the same JSON parsing and schema checks.
   */
  script?: ModelScript;
  /** Retries of one model call on 429 / 5xx / network errors, with backoff (default 3). */
  maxRetries?: number;
  /** Per model call (default 120 s). */
  timeoutMs?: number;
  /** The project's memories, for agents with `memory:`; without it such an agent fails with MEMORY_UNAVAILABLE. */
  memory?: MemoryManager;
  /** The enabled built-in cp__ tools (runtime.native_tools): offered to every agent, as the Go engine does, and run through `tools`. */
  nativeTools?: readonly NativeToolSpec[];
  /** The project's MCP servers (src/mcp), whose tools agents with servers are offered; without it such an agent fails with MCP_UNAVAILABLE. */
  mcp?: McpToolSource;
}

/** MCP servers' tools: listed for an agent's servers, and called in its tool loop. */
export interface McpToolSource {
  tools(serverIds: readonly string[]): Promise<Array<{ server: string; name: string; description?: string; inputSchema: Record<string, unknown> }>>;
  /** The tool's answer as the model is to see it; an error (thrown) is handed to the model as the tool's error. */
  call(server: string, name: string, args: Record<string, unknown>): Promise<unknown>;
}

interface Completion {
  text: string;
  inputTokens: number;
  outputTokens: number;
}

type AiSdk = typeof import('ai');

/** A provider error as a typed task error carrying the provider's own message. */
export function providerError(ai: AiSdk, error: unknown, model: ResolvedModel): CompozyError {
  // Already typed (an unknown provider, a missing api_url): wrapping it as LLM_PROVIDER_ERROR would make it retried as transient.
  if (error instanceof CompozyError) return error;
  const { APICallError, LoadAPIKeyError, RetryError } = ai;
  const name = `${model.provider}:${model.model}`;
  const cause = RetryError.isInstance(error) ? error.lastError : error;
  if (LoadAPIKeyError.isInstance(cause)) {
    return new CompozyError('LLM_AUTH_FAILED', `Model ${name} has no API key: ${cause.message}`, { hint: 'Set api_key on the model (e.g. "{{ .env.GROQ_API_KEY }}") and export the variable.' });
  }
  if (APICallError.isInstance(cause)) {
    let message = cause.message;
    try {
      const body = JSON.parse(cause.responseBody ?? '') as { error?: { message?: string } | string; message?: string };
      message = (typeof body.error === 'string' ? body.error : body.error?.message) ?? body.message ?? message;
    } catch {
      // not JSON: keep the SDK's message
    }
    const status = cause.statusCode;
    const details = { status, provider: model.provider, model: model.model };
    if (status === 401 || status === 403) return new CompozyError('LLM_AUTH_FAILED', `${name} refused the credentials (${status}): ${message}`, { hint: 'Check the api_key of this model.', details });
    if (status === 429) {
      const retryAfter = cause.responseHeaders?.['retry-after'];
      return new CompozyError('LLM_RATE_LIMITED', `${name} is rate limiting (429${retryAfter ? `, retry after ${retryAfter}s` : ''}): ${message}`, { details });
    }
    if (status === 404) return new CompozyError('LLM_MODEL_NOT_FOUND', `${name} does not exist at the provider (404): ${message}`, { details });
    if (status !== undefined && status < 500) return new CompozyError('LLM_REQUEST_INVALID', `${name} rejected the request (${status}): ${message}`, { details });
    return new CompozyError('LLM_PROVIDER_ERROR', `${name} failed${status ? ` (${status})` : ''}: ${message}`, { details });
  }
  const text = errorMessage(cause);
  if (/timeout|timed out|aborted/i.test(text) || (cause as { name?: string })?.name === 'TimeoutError') {
    return new CompozyError('LLM_TIMEOUT', `${name} did not answer in time: ${text}`);
  }
  return new CompozyError('LLM_PROVIDER_ERROR', `${name} failed: ${text}`);
}

/** The model's params as the AI SDK call's settings (temperature → temperature, max_tokens → maxOutputTokens…). */
export function callSettings(model: ResolvedModel): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(model.params)) if (MODEL_PARAMS[name]) settings[MODEL_PARAMS[name] as string] = value;
  return settings;
}

/** A remembered message as a prior turn; a remembered tool message has no call to answer, so it is sent as the assistant's text. */
function priorMessage(message: MemoryMessage): ModelMessage {
  if (message.role === 'system') return { role: 'system', content: message.content };
  if (message.role === 'user') return { role: 'user', content: message.content };
  return { role: 'assistant', content: message.content };
}

/** One AI SDK step as agent steps: the model's answer with its usage, then each tool call, then each tool's result or error. */
async function reportStep(step: StepResult<ToolSet>, report: { onStep: (step: AgentStep) => Promise<void>; steps: { count: number } }): Promise<void> {
  const n = ++report.steps.count;
  await report.onStep({ type: 'model_call', step: n, text: step.text, finishReason: step.finishReason, usage: { inputTokens: step.usage.inputTokens ?? 0, outputTokens: step.usage.outputTokens ?? 0 } });
  for (const call of step.toolCalls) await report.onStep({ type: 'tool_call', step: n, toolCallId: call.toolCallId, toolId: call.toolName, input: call.input });
  for (const part of step.content) {
    if (part.type === 'tool-result') await report.onStep({ type: 'tool_result', step: n, toolCallId: part.toolCallId, toolId: part.toolName, output: part.output });
    else if (part.type === 'tool-error') await report.onStep({ type: 'tool_result', step: n, toolCallId: part.toolCallId, toolId: part.toolName, error: { message: errorMessage(part.error) } });
  }
}

/** What a scripted run reports as its model (usage rows, errors). */
const SCRIPTED_MODEL: ResolvedModel = { provider: 'replay', model: 'scripted', params: {} };

/**
 * Agent execution (reference §2.3): the agent's instructions as the system prompt, the action prompt
 * (or the task's prompt) rendered with `.input`, the agent's tools offered as function tools for up to
 * `max_iterations` steps; a JSON answer when the action has an output schema or json_mode (validated,
 * retried), else `{response: text}`. Replay models answer from their fixtures through the same path.
 */
export class LlmAgents implements AgentInvoker {
  private readonly schemas = new SchemaValidator();
  private readonly replays = new Map<string, ReplayFixtures>();

  constructor(private readonly options: LlmAgentsOptions) {}

  async run(request: AgentRequest): Promise<AgentResult> {
    const entry = request.agentId === undefined ? undefined : this.options.resources.agents.get(request.agentId);
    if (request.agentId !== undefined && !entry) throw new CompozyError('AGENT_NOT_FOUND', `Agent "${request.agentId}" is not declared in the project.`);
    const agent = entry?.agent;
    const action = request.actionId === undefined ? undefined : agent?.actions.find((a) => a.id === request.actionId);
    if (request.actionId !== undefined && !action) throw new CompozyError('AGENT_NOT_FOUND', `Agent "${request.agentId}" has no action "${request.actionId}".`);
    const { script } = this.options;
    const model: ResolvedModel = script ? SCRIPTED_MODEL : resolveModel(request.model ?? agent?.model, this.options.models, this.options.env);
    const unusable = script ? undefined : modelUnusable(model, this.options.env, this.options.projectDir);
    if (unusable) throw unusable;
    // Reference §2.4: the task's with is checked against the task's input schema, then the action's.
    const inputSchema = action?.input && entry ? resolveSchema(action.input, entry.schemas) : undefined;
    const inputProblems = inputSchema ? this.schemas.problems(inputSchema, request.input) : [];
    if (inputProblems.length > 0) {
      throw new CompozyError('INPUT_INVALID', `Input of agent "${request.agentId}" action "${request.actionId}" does not match the action's input schema: ${describeProblems(inputProblems)}.`, {
        hint: "Give the task's with: the fields the action's input schema asks for.",
      });
    }
    const vars = { ...request.context, input: request.input, with: request.input };
    const prompt = action ? String(templates.renderValue(action.prompt, vars)) : (request.prompt ?? '');
    if (prompt.trim() === '') throw new CompozyError('LLM_REQUEST_INVALID', 'The task gives the model no prompt.', { hint: 'Give the task an agent action, or a prompt.' });
    const schema = action?.output && entry ? resolveSchema(action.output, entry.schemas) : undefined;
    const json = schema !== undefined || Boolean(action?.jsonMode) || Boolean(agent?.jsonMode);
    const instructions = agent?.instructions === undefined ? undefined : String(templates.renderValue(agent.instructions, vars));
    const system = [instructions, json ? jsonInstruction(schema) : undefined].filter((part): part is string => Boolean(part)).join('\n\n') || undefined;
    const memories = agent ? this.memories(agent, vars) : [];
    const history: MemoryMessage[] = [];
    for (const { instance } of memories) history.push(...(await instance.history()));
    const result = await this.answer(request, model, { system, prompt, history, json, schema, toolIds: agent ? [...new Set([...agent.tools, ...(this.options.nativeTools ?? []).map((spec) => spec.id)])] : [], mcpIds: entry?.mcps ?? [], maxIterations: agent?.maxIterations ?? 5, vars });
    const turn: MemoryMessage[] = [
      { role: 'user', content: prompt },
      { role: 'assistant', content: result.text },
    ];
    for (const { instance, mode } of memories) if (mode === 'read-write') await instance.append(turn);
    return { output: result.output, usage: result.usage };
  }

  /** The agent's memories with their keys rendered with the task's template context. */
  private memories(agent: AgentConfig, vars: Record<string, unknown>): Array<{ instance: MemoryInstance; mode: 'read-write' | 'read-only' }> {
    if (agent.memory.length === 0) return [];
    const manager = this.options.memory;
    if (!manager) throw new CompozyError('MEMORY_UNAVAILABLE', `Agent "${agent.id}" has memory, but this process was given no memory service.`);
    return agent.memory.map((ref) => {
      const template = memoryKeyTemplate(manager.resource(ref.id), ref.key);
      let key: string;
      try {
        key = String(templates.renderValue(template, vars));
      } catch (error) {
        throw new CompozyError('TEMPLATE_ERROR', `Agent "${agent.id}" memory "${ref.id}": key: ${errorMessage(error)}`, { details: { agent: agent.id, memory: ref.id, field: 'key' } });
      }
      return { instance: manager.instance(ref.id, key), mode: ref.mode };
    });
  }

  private async answer(
    request: AgentRequest,
    model: ResolvedModel,
    call: { system: string | undefined; prompt: string; history: MemoryMessage[]; json: boolean; schema: Record<string, unknown> | undefined; toolIds: readonly string[]; mcpIds: readonly string[]; maxIterations: number; vars: Record<string, unknown> },
  ): Promise<AgentResult & { text: string }> {
    const { script } = this.options;
    const { json, schema, vars } = call;

    const attempts = 1 + (this.options.structuredOutputRetries ?? 2);
    let inputTokens = 0;
    let outputTokens = 0;
    let lastProblem = '';
    // Steps are numbered across the structured-output retries, so each one of a task's steps has its own number.
    const steps = { count: 0 };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let completion: Completion;
      if (model.provider === 'replay') {
        const text = (script ?? this.replay(model.model)).answer({ ...(request.agentId ? { agentId: request.agentId } : {}), ...(request.actionId ? { actionId: request.actionId } : {}), input: request.input, vars, history: call.history, prompt: call.prompt });
        completion = { text, inputTokens: 0, outputTokens: 0 };
        await request.onStep?.({ type: 'model_call', step: ++steps.count, text, finishReason: 'stop', usage: { inputTokens: 0, outputTokens: 0 } });
      } else {
        completion = await this.complete(model, call.system, call.prompt, call.history, await this.toolSet(request.agentId, call.toolIds, call.mcpIds), call.maxIterations, request.onStep && { onStep: request.onStep, steps });
      }
      inputTokens += completion.inputTokens;
      outputTokens += completion.outputTokens;
      const usage = { provider: model.provider, model: model.model, input_tokens: inputTokens, output_tokens: outputTokens };
      if (!json) return { output: { response: completion.text }, usage, text: completion.text };
      try {
        const output = parseJsonObject(completion.text);
        if (schema) this.check(schema, output);
        return { output, usage, text: completion.text };
      } catch (error) {
        lastProblem = errorMessage(error);
      }
    }
    throw new CompozyError('LLM_OUTPUT_INVALID', `${model.provider}:${model.model} gave no valid JSON answer in ${plural(attempts, 'attempt')}: ${lastProblem}`, {
      hint: 'Tighten the action prompt, or relax its output schema.',
    });
  }

  private replay(model: string): ReplayFixtures {
    let fixtures = this.replays.get(model);
    if (!fixtures) {
      fixtures = ReplayFixtures.load(this.options.projectDir, model);
      this.replays.set(model, fixtures);
    }
    return fixtures;
  }

  private check(schema: Record<string, unknown>, value: unknown): void {
    const problems = this.schemas.problems(schema, value);
    if (problems.length > 0) throw new Error(`the answer does not match the output schema: ${describeProblems(problems)}`);
  }

  /**
   * The agent's tools, its built-in cp__ tools and its MCP servers' tools, by the names the model calls
   * them (an MCP tool keeps its own name, as in the Go engine); a name offered twice is refused, since
   * the model could not say which one it means. Undefined when the agent has none.
   */
  private async toolSet(agentId: string | undefined, ids: readonly string[], mcpIds: readonly string[]): Promise<ToolSet | undefined> {
    if (ids.length === 0 && mcpIds.length === 0) return undefined;
    const ai = await import('ai');
    const set = this.tools(ai, ids);
    if (mcpIds.length === 0) return set;
    const { mcp } = this.options;
    if (!mcp) throw new CompozyError('MCP_UNAVAILABLE', `Agent "${agentId}" uses MCP servers (${mcpIds.join(', ')}), but this process runs none.`, { hint: 'Run the agent under compozy dev, serve or worker, which start the project\'s MCP servers.' });
    const origin = new Map<string, string>(Object.keys(set).map((name) => [name, name.startsWith('cp__') ? 'the built-in tools' : "the agent's tools:"]));
    for (const found of await mcp.tools(mcpIds)) {
      const first = origin.get(found.name);
      if (first !== undefined) {
        throw new CompozyError('MCP_TOOL_CONFLICT', `Agent "${agentId}" is offered two tools named "${found.name}": one of ${first} and one of MCP server "${found.server}".`, {
          hint: "Drop one of them from the agent (its tools: or mcps:); the project's and the workflow's MCP servers are offered to every agent below them.",
          details: { agent: agentId, tool: found.name, mcp: found.server },
        });
      }
      origin.set(found.name, `MCP server "${found.server}"`);
      set[found.name] = ai.tool({
        description: found.description ?? found.name,
        inputSchema: ai.jsonSchema<Record<string, unknown>>(found.inputSchema),
        execute: (input: Record<string, unknown>) => mcp.call(found.server, found.name, input),
      });
    }
    return set;
  }

  private tools(ai: AiSdk, ids: readonly string[]): ToolSet {
    const { jsonSchema, tool } = ai;
    const set: ToolSet = {};
    for (const id of ids) {
      const builtin = this.options.nativeTools?.find((spec) => spec.id === id);
      if (builtin) {
        set[id] = tool({ description: builtin.description, inputSchema: jsonSchema<Record<string, unknown>>(builtin.inputSchema), execute: (input: Record<string, unknown>) => this.options.tools.call(id, input, {}) });
        continue;
      }
      const found = this.options.resources.tools.get(id);
      if (!found) throw new CompozyError('TOOL_NOT_FOUND', `Agent tool "${id}" is not declared in the project.`);
      const inputSchema = found.inputSchema ?? { type: 'object', properties: {} };
      set[id] = tool({
        description: found.tool.description ?? id,
        inputSchema: jsonSchema<Record<string, unknown>>(inputSchema),
        execute: (input: Record<string, unknown>) => this.options.tools.call(id, input, {}),
      });
    }
    return set;
  }

  private async complete(
    model: ResolvedModel,
    system: string | undefined,
    prompt: string,
    history: readonly MemoryMessage[],
    tools: ToolSet | undefined,
    maxIterations: number,
    report: { onStep: (step: AgentStep) => Promise<void>; steps: { count: number } } | undefined,
  ): Promise<Completion> {
    const settings = callSettings(model);
    // Loaded on the first model call: replay-only and tool-only projects never pay for the AI SDK.
    const [ai, { languageModel }] = await Promise.all([import('ai'), import('./providers.js')]);
    const { generateText, stepCountIs } = ai;
    // The AI SDK catches what a step callback throws: a step that could not be reported fails the call here instead.
    let reportFailure: { error: unknown } | undefined;
    const onStepEnd = report
      ? async (step: StepResult<ToolSet>) => {
          if (!reportFailure) await reportStep(step, report).catch((error: unknown) => (reportFailure = { error }));
        }
      : undefined;
    let completion: Completion;
    try {
      const result = await generateText({
        model: languageModel(model, this.options.env),
        ...(system ? { system } : {}),
        // A remembered system message (a summary, a memory task's note) keeps its place among the turns.
        ...(history.length > 0 ? { messages: [...history.map(priorMessage), { role: 'user', content: prompt } satisfies ModelMessage], allowSystemInMessages: true } : { prompt }),
        ...(tools ? { tools, stopWhen: stepCountIs(maxIterations) } : {}),
        ...(onStepEnd ? { onStepEnd } : {}),
        maxRetries: this.options.maxRetries ?? 3,
        timeout: this.options.timeoutMs ?? 120_000,
        ...settings,
      });
      completion = { text: result.text, inputTokens: result.totalUsage.inputTokens ?? 0, outputTokens: result.totalUsage.outputTokens ?? 0 };
    } catch (error) {
      throw providerError(ai, error, model);
    }
    if (reportFailure) throw reportFailure.error;
    return completion;
  }
}
