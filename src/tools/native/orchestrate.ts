import type { NativeToolsConfig } from '../../config/native-tools.js';
import { childFailed, type NativeCalls } from './calls.js';
import { nativeError } from './errors.js';

const TOOL = 'cp__agent_orchestrate';
const STEP_ID = /^[a-zA-Z0-9_.:-]+$/;
const RESULT_KEY = /^[a-zA-Z0-9_.-]+$/;
const STATUSES = ['pending', 'running', 'success', 'failed', 'partial', 'skipped'];

interface AgentStep {
  agent_id: string;
  action_id?: string;
  prompt?: string;
  with?: Record<string, unknown>;
  result_key?: string;
  timeout_ms?: number;
}

interface Step {
  id: string;
  type: 'agent' | 'parallel';
  agent?: AgentStep;
  parallel?: { steps: AgentStep[]; max_concurrency?: number; result_key?: string };
}

interface Plan {
  id: string;
  bindings: Record<string, unknown>;
  steps: Step[];
}

export interface OrchestrateInput {
  prompt?: string;
  plan?: Record<string, unknown>;
  bindings?: Record<string, unknown>;
  max_parallel?: number;
  timeout_ms?: number;
  disable_planner?: boolean;
}

const OBJECT = { type: 'object', additionalProperties: {} };
const AGENT_STEP = {
  type: 'object',
  properties: {
    agent_id: { type: 'string' },
    action_id: { type: 'string' },
    prompt: { type: 'string' },
    with: OBJECT,
    result_key: { type: 'string', description: 'Binding that receives the agent output.' },
    timeout_ms: { type: 'integer' },
  },
};

/** The input schema of the Go engine's cp__agent_orchestrate (orchestrate/handler.go buildInputSchema, spec/plan.go). */
export const ORCHESTRATE_INPUT_SCHEMA = {
  type: 'object',
  properties: {
    prompt: { type: 'string', description: 'Natural language instructions describing the orchestration goal.' },
    plan: {
      type: 'object',
      description: 'Structured plan: steps run in the order given and the first failing step ends it; a parallel step runs its agent steps at the same time.',
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        description: { type: 'string' },
        bindings: OBJECT,
        steps: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              name: { type: 'string' },
              description: { type: 'string' },
              type: { type: 'string', enum: ['agent', 'parallel'] },
              status: { type: 'string', enum: STATUSES },
              agent: AGENT_STEP,
              parallel: {
                type: 'object',
                properties: { steps: { type: 'array', items: AGENT_STEP }, max_concurrency: { type: 'integer' }, result_key: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    bindings: OBJECT,
    max_parallel: { type: 'integer', minimum: 1 },
    timeout_ms: { type: 'integer', minimum: 1 },
    disable_planner: { type: 'boolean' },
  },
  oneOf: [{ required: ['plan'] }, { required: ['prompt'] }],
  additionalProperties: false,
};

export const ORCHESTRATE_OUTPUT_SCHEMA = {
  type: 'object',
  required: ['success', 'steps'],
  properties: {
    success: { type: 'boolean' },
    steps: { type: 'array', items: { type: 'object', required: ['id', 'type', 'status'] } },
    errors: { type: 'array', items: { type: 'object', properties: { step_id: { type: 'string' }, error: { type: 'string' } } } },
    bindings: { type: 'object' },
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** spec/plan.go AgentStep.validate. */
function agentStepProblems(raw: unknown, path: string): string[] {
  if (!isRecord(raw)) return [`${path} must be an object`];
  const out: string[] = [];
  if (text(raw.agent_id) === '') out.push(`${path}.agent_id is required`);
  if (raw.result_key !== undefined && raw.result_key !== '' && !RESULT_KEY.test(text(raw.result_key))) out.push(`${path}.result_key must match ${RESULT_KEY.source}`);
  if (typeof raw.timeout_ms === 'number' && raw.timeout_ms < 0) out.push(`${path}.timeout_ms must be >= 0`);
  return out;
}

function stepProblems(step: Record<string, unknown>, path: string): string[] {
  const out: string[] = [];
  const id = text(step.id);
  if (id === '') out.push(`${path}.id is required`);
  else if (!STEP_ID.test(id)) out.push(`${path}.id must match ${STEP_ID.source}`);
  const type = text(step.type);
  if (type === '') out.push(`${path}.type is required`);
  else if (type !== 'agent' && type !== 'parallel') out.push(`${path}.type "${type}" is invalid`);
  const status = text(step.status);
  if (status === '') out.push(`${path}.status is required`);
  else if (!STATUSES.includes(status)) out.push(`${path}.status "${status}" is invalid`);
  if (type === 'agent') {
    if (step.agent === undefined) out.push(`${path}.agent is required for agent steps`);
    else out.push(...agentStepProblems(step.agent, `${path}.agent`));
    if (step.parallel !== undefined) out.push(`${path}.parallel must be omitted for agent steps`);
  }
  if (type === 'parallel') {
    const parallel = step.parallel;
    if (!isRecord(parallel)) out.push(`${path}.parallel is required for parallel steps`);
    else {
      const children = Array.isArray(parallel.steps) ? parallel.steps : [];
      if (children.length === 0) out.push(`${path}.parallel.steps must contain at least one agent step`);
      if (parallel.result_key !== undefined && parallel.result_key !== '' && !RESULT_KEY.test(text(parallel.result_key))) out.push(`${path}.parallel.result_key must match ${RESULT_KEY.source}`);
      if (typeof parallel.max_concurrency === 'number' && parallel.max_concurrency < 0) out.push(`${path}.parallel.max_concurrency must be non-negative`);
      for (const key of ['merge_strategy', 'bindings']) {
        if (parallel[key] !== undefined) out.push(`${path}.parallel.${key} is not honoured: a parallel step collects every agent's output under its result_key`);
      }
      children.forEach((child, i) => out.push(...agentStepProblems(child, `${path}.parallel.steps[${i}]`)));
    }
    if (step.agent !== undefined) out.push(`${path}.agent must be omitted for parallel steps`);
  }
  if (step.transitions !== undefined) out.push(`${path}.transitions is not honoured: steps run in the order given and the first failing step ends the plan`);
  return out;
}

function resultKeys(step: Record<string, unknown>): string[] {
  if (step.type === 'agent' && isRecord(step.agent)) return [text(step.agent.result_key)];
  if (step.type === 'parallel' && isRecord(step.parallel)) {
    const children = Array.isArray(step.parallel.steps) ? step.parallel.steps : [];
    return [text(step.parallel.result_key), ...children.map((child) => (isRecord(child) ? text(child.result_key) : ''))];
  }
  return [];
}

/**
 * The Go engine's Plan.Validate (orchestrate/spec/plan.go) and compileStructured (planner/compiler.go):
 * every problem named by its path, ids unique, result keys used once; the request's bindings are
 * merged over the plan's, at most planner.max_steps steps. The Go plan's transitions and a parallel
 * step's merge_strategy and bindings are validated there but never read by its executor (executor.go
 * runs the steps in order and collects every output), so they are refused here rather than ignored.
 */
function compile(raw: Record<string, unknown>, bindings: Record<string, unknown> | undefined, maxSteps: number): Plan {
  const steps = Array.isArray(raw.steps) ? raw.steps : [];
  const problems: string[] = [];
  if (raw.id !== undefined && raw.id !== '' && !STEP_ID.test(text(raw.id))) problems.push(`plan.id must match ${STEP_ID.source}`);
  if (steps.length === 0) problems.push('plan requires at least one step');
  const ids = new Map<string, string>();
  const owners = new Map<string, string>();
  steps.forEach((step, i) => {
    const path = `steps[${i}]`;
    if (!isRecord(step)) {
      problems.push(`${path} must be an object`);
      return;
    }
    problems.push(...stepProblems(step, path));
    const id = text(step.id);
    if (id !== '') {
      if (ids.has(id)) problems.push(`${path}.id duplicates ${ids.get(id)}.id`);
      else ids.set(id, path);
    }
    for (const key of resultKeys(step).filter((k) => k !== '')) {
      if (owners.has(key)) problems.push(`${path} uses result_key "${key}" already used by ${owners.get(key)}`);
      else owners.set(key, path);
    }
  });
  if (problems.length > 0) throw nativeError(TOOL, 'InvalidArgument', `planner produced invalid plan: ${problems.join('; ')}`, { field: 'plan', errors: problems });
  if (steps.length > maxSteps) throw nativeError(TOOL, 'InvalidArgument', `planner produced invalid plan: plan has ${steps.length} steps, exceeds ${maxSteps}`, { field: 'plan' });
  return { id: text(raw.id) || 'agent_orchestrate_plan', bindings: { ...(isRecord(raw.bindings) ? raw.bindings : {}), ...(bindings ?? {}) }, steps: steps as Step[] };
}

interface StepResult {
  id: string;
  type: 'agent' | 'parallel';
  status: 'success' | 'failed' | 'partial';
  exec_id?: string;
  output?: Record<string, unknown>;
  elapsed_ms?: number;
  children?: StepResult[];
  error?: string;
}

/** One agent step: a cp__call_agent-like child execution, failed when it does not end SUCCESS in time. */
async function runAgent(calls: NativeCalls, id: string, step: AgentStep, timeoutMs: number): Promise<StepResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const result = await calls.run(
      { kind: 'agent', agentId: step.agent_id, ...(step.action_id ? { actionId: step.action_id } : {}), ...(step.prompt ? { prompt: step.prompt } : {}), ...(step.with ? { with: step.with } : {}) },
      timeoutMs,
    );
    if (!result.ended || result.status !== 'SUCCESS') return { id, type: 'agent', status: 'failed', exec_id: result.execId, elapsed_ms: elapsed(), error: childFailed(TOOL, `agent "${step.agent_id}"`, result, timeoutMs).message };
    const output = isRecord(result.output) ? result.output : { value: result.output };
    return { id, type: 'agent', status: 'success', exec_id: result.execId, output, elapsed_ms: elapsed() };
  } catch (error) {
    return { id, type: 'agent', status: 'failed', elapsed_ms: elapsed(), error: (error as Error).message };
  }
}

/**
 * A parallel step (Go executeParallelStep): its agent steps at most `limit` at a time, `[i]`-suffixed
 * ids; once one fails, the ones not started yet are not started (Go cancels the group). Success when
 * all succeed, failed when none does, else partial.
 */
async function runParallel(calls: NativeCalls, step: Step, limit: number, timeoutFor: (s: AgentStep) => number): Promise<StepResult> {
  const children = step.parallel?.steps ?? [];
  const results: StepResult[] = new Array(children.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    for (let i = next++; i < children.length; i = next++) {
      const child = children[i] as AgentStep;
      const id = `${step.id}[${i}]`;
      results[i] = failed ? { id, type: 'agent', status: 'failed', error: 'not started: another agent of the parallel step failed' } : await runAgent(calls, id, child, timeoutFor(child));
      if (results[i]?.status !== 'success') failed = true;
    }
  };
  const requested = step.parallel?.max_concurrency ?? 0;
  const width = Math.min(limit, children.length, requested > 0 ? requested : Number.POSITIVE_INFINITY);
  await Promise.all(Array.from({ length: Math.max(1, width) }, worker));
  const successes = results.filter((r) => r.status === 'success').length;
  return { id: step.id, type: 'parallel', status: successes === results.length ? 'success' : successes === 0 ? 'failed' : 'partial', children: results };
}

function rendered(result: StepResult, errors: Array<Record<string, unknown>>): Record<string, unknown> {
  if (result.error) errors.push({ step_id: result.id, error: result.error });
  const children = result.children?.map((child) => rendered(child, errors));
  return {
    id: result.id,
    type: result.type,
    status: result.status,
    ...(result.exec_id ? { exec_id: result.exec_id } : {}),
    ...(result.output ? { output: result.output } : {}),
    ...(result.elapsed_ms ? { elapsed_ms: result.elapsed_ms } : {}),
    ...(children ? { children } : {}),
  };
}

/**
 * cp__agent_orchestrate (Go orchestrate/handler.go, executor.go): a structured plan of agent calls run
 * step after step, a parallel step's agents at the same time; the first step that fails ends the plan.
 * The result is {success, steps, errors?, bindings?}; a failed plan is success: false, not a tool
 * error. A step's result_key binds its output, and the bindings returned hold them (the Go engine
 * returns only the bindings it was given). A prompt without a plan needs the LLM planner, which this
 * runtime does not have: it is refused by name.
 */
export async function orchestrate(calls: NativeCalls, config: NativeToolsConfig, input: OrchestrateInput): Promise<Record<string, unknown>> {
  const settings = config.agentOrchestrator;
  if (!settings.enabled) throw nativeError(TOOL, 'PermissionDenied', 'agent orchestrator disabled (runtime.native_tools.agent_orchestrator.enabled: false)');
  if (!input.plan || Object.keys(input.plan).length === 0) {
    if (!input.prompt?.trim()) throw nativeError(TOOL, 'InvalidArgument', 'planner requires prompt or plan', { field: 'prompt' });
    if (settings.plannerDisabled || input.disable_planner) throw nativeError(TOOL, 'InvalidArgument', 'planner disabled for prompt input', { reason: 'planner_disabled' });
    throw nativeError(TOOL, 'InvalidArgument', 'turning a prompt into a plan (the LLM planner) is not implemented: send plan: with the steps', { field: 'prompt', reason: 'planner_not_implemented' });
  }
  const plan = compile(input.plan, input.bindings, settings.plannerMaxSteps);
  const maxParallel = input.max_parallel && input.max_parallel < settings.maxParallel ? input.max_parallel : settings.maxParallel;
  const defaultTimeoutMs = input.timeout_ms && input.timeout_ms < settings.defaultTimeoutMs ? input.timeout_ms : settings.defaultTimeoutMs;
  const timeoutFor = (step: AgentStep) => (step.timeout_ms && step.timeout_ms > 0 ? step.timeout_ms : defaultTimeoutMs);
  const bindings = { ...plan.bindings };
  const errors: Array<Record<string, unknown>> = [];
  const steps: Array<Record<string, unknown>> = [];
  if (settings.maxSteps > 0 && plan.steps.length > settings.maxSteps) {
    errors.push({ error: `agent orchestrator maximum steps exceeded (${plan.steps.length} > ${settings.maxSteps})` });
  } else {
    for (const step of plan.steps) {
      const started = performance.now();
      const result = step.type === 'agent' ? await runAgent(calls, step.id, step.agent as AgentStep, timeoutFor(step.agent as AgentStep)) : await runParallel(calls, step, maxParallel, timeoutFor);
      if (result.type === 'parallel') result.elapsed_ms = Math.round(performance.now() - started);
      steps.push(rendered(result, errors));
      if (result.status !== 'success') {
        errors.push({ error: `step "${step.id}" ended ${result.status}` });
        break;
      }
      if (step.agent?.result_key && result.output) bindings[step.agent.result_key] = result.output;
      if (step.parallel) {
        const collected: Record<string, unknown> = {};
        step.parallel.steps.forEach((child, i) => {
          const output = result.children?.[i]?.output;
          if (child.result_key && output) bindings[child.result_key] = collected[child.result_key] = output;
        });
        if (step.parallel.result_key) bindings[step.parallel.result_key] = collected;
      }
    }
  }
  return { success: errors.length === 0, steps, ...(Object.keys(bindings).length > 0 ? { bindings } : {}), ...(errors.length > 0 ? { errors } : {}) };
}
