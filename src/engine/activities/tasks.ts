import { Context } from '@temporalio/activity';
import { CompozyError, errorMessage } from '../../errors.js';
import { evaluateCondition } from '../../expr/cel.js';
import { chooseRoute } from '../../expr/route.js';
import { describeProblems, SchemaValidator } from '../../platform/schema-validator.js';
import { templates, type TemplateEngine } from '../../expr/template.js';
import type { ExecutionError, ExecutionStore, Status, TaskState, WorkflowExecutionWithTasks } from '../../store/store.js';
import { tasksView, templateContext, workflowContext } from '../context.js';
import type { JsonSchema, TaskDef, TransitionDef } from '../definition.js';
import type { AgentInvoker, MemoryService, SignalDispatcher, ToolInvoker } from '../executors.js';
import { carriedError, carriedThrow, HISTORY_RESULT_LIMIT_BYTES, jsonBytes, payloadTooLarge } from '../history-limits.js';
import type { ExecutionEvent, ExecutionObserver } from '../observer.js';
import { isTerminal, progressInfo } from '../progress.js';
import type { ChildResult, Expansion, FinishParentRequest, RunResult, SettleWaitRequest, TaskOutcome, TaskRequest } from '../protocol.js';

export interface EngineDeps {
  store: ExecutionStore;
  tools: ToolInvoker;
  agents: AgentInvoker;
  signals: SignalDispatcher;
  memory: MemoryService;
  templates?: TemplateEngine;
  /** Told when executions start and finish and when a task fails (the dev terminal's story). */
  observer?: ExecutionObserver;
}

/** Failures a retry cannot fix: the config, the templates or the data are wrong. */
const PERMANENT: ReadonlySet<string> = new Set([
  'TEMPLATE_ERROR', 'CEL_INVALID', 'CEL_FAILED', 'ROUTE_NOT_FOUND', 'INPUT_INVALID', 'OUTPUT_INVALID', 'TOOL_NOT_FOUND', 'TOOL_INPUT_INVALID',
  'TOOL_OUTPUT_INVALID', 'TOOL_RESULT_TOO_LARGE', 'TOOL_RESULT_INVALID', 'TOOL_ENV_REJECTED', 'TOOL_ENTRYPOINT_FAILED', 'MEMORY_UNAVAILABLE', 'CONFIG_INVALID', 'AGENT_NOT_FOUND',
  'SIGNAL_FAILED', 'TRIGGER_NOT_FOUND', 'LLM_MODEL_NOT_FOUND', 'LLM_PROVIDER_UNKNOWN', 'LLM_AUTH_FAILED', 'LLM_REQUEST_INVALID', 'LLM_OUTPUT_INVALID', 'LLM_REPLAY_MISSING',
  'PAYLOAD_TOO_LARGE',
]);

/** Failures that end a task TIMED_OUT rather than FAILED. */
const TIMEOUTS: ReadonlySet<string> = new Set(['TOOL_TIMEOUT', 'LLM_TIMEOUT', 'TASK_TIMED_OUT']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

function toExecutionError(error: unknown, fallbackCode = 'TASK_FAILED'): ExecutionError {
  const details = error instanceof CompozyError ? error.details : undefined;
  return { message: errorMessage(error), code: codeOf(error) ?? fallbackCode, ...(details ? { details } : {}) };
}

/**
 * A task whose output reports an error counts as failed (reference §2.4): a non-empty `error`
 * (string, map with a message, or array), or `success: false`.
 */
function outputFailure(output: unknown): ExecutionError | undefined {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return undefined;
  const { error, success } = output as Record<string, unknown>;
  if (typeof error === 'string' && error.trim() !== '') return { message: error, code: 'TASK_FAILED' };
  if (Array.isArray(error) && error.length > 0) return { message: error.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; '), code: 'TASK_FAILED' };
  if (error !== null && typeof error === 'object' && !Array.isArray(error)) {
    const message = (error as Record<string, unknown>).message;
    if (typeof message === 'string' && message !== '') return { message, code: 'TASK_FAILED' };
  }
  if (success === false || success === 'false') return { message: 'task output reports success: false', code: 'TASK_FAILED' };
  return undefined;
}

/** The attempt of the running activity (1 outside an activity, e.g. under a test harness). */
function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Keeps a running activity's heartbeat going, so a worker that dies is noticed at the heartbeat timeout. */
function heartbeating(): () => void {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 1000);
  return () => clearInterval(timer);
}

interface Loaded {
  execution: WorkflowExecutionWithTasks;
  ctx: Record<string, unknown>;
}

interface FinishOptions {
  input: unknown;
  raw?: unknown;
  /** An agent's token usage, kept on the task state. */
  usage?: unknown;
  error?: ExecutionError;
  /** Variables for `outputs:` when they differ from `{output: raw}` (parents: the outputs map and children). */
  outputsVars?: Record<string, unknown>;
  /** Aggregate tasks: `outputs:` already are the output. */
  skipOutputs?: boolean;
}

export class EngineActivities {
  private readonly schemas = new SchemaValidator();
  private readonly templates: TemplateEngine;

  constructor(private readonly deps: EngineDeps) {
    this.templates = deps.templates ?? templates;
  }

  /**
   * The activity functions Temporal registers, bound to this instance. Every result goes into
   * Temporal's history, so each one passes through `carried`: what cannot be carried fails its task.
   */
  functions() {
    return {
      executeTask: async (r: TaskRequest) => this.carried(r, await this.executeTask(r)),
      beginTask: async (r: TaskRequest) => this.carried(r, await this.beginTask(r)),
      recordTask: async (r: TaskRequest, status: Status, error?: ExecutionError) => this.carried(r, await this.recordTask(r, status, error)),
      routeTask: async (r: TaskRequest) => this.carried(r, await this.routeTask(r)),
      aggregateTask: async (r: TaskRequest) => this.carried(r, await this.aggregateTask(r)),
      expandCollection: async (r: TaskRequest) => this.carriedExpansion(r, await this.expandCollection(r)),
      finishParent: async (r: FinishParentRequest) => this.carried(r, await this.finishParent(r)),
      settleWait: async (r: SettleWaitRequest) => {
        const settled = await this.settleWait(r);
        return settled.outcome ? { ...settled, outcome: await this.carried(r, settled.outcome) } : settled;
      },
      markWorkflow: (execId: string, status: Status) => this.markWorkflow(execId, status),
      completeWorkflow: (r: { execId: string; env: Record<string, string>; outputs?: Record<string, unknown>; failure?: ExecutionError; canceled?: boolean }) => this.completeWorkflow(r),
    };
  }

  /** The outcome as history may carry it; one over the limit (a transition's `with`) fails the task instead. */
  private async carried(request: TaskRequest, outcome: TaskOutcome): Promise<TaskOutcome> {
    const compact = outcome.error ? { ...outcome, error: carriedError(outcome.error) } : outcome;
    const bytes = jsonBytes(compact);
    if (bytes <= HISTORY_RESULT_LIMIT_BYTES) return compact;
    return this.tooLarge(request, `The result of task "${request.task.id}" (its transition's with:)`, bytes);
  }

  private async carriedExpansion(request: TaskRequest, expansion: Expansion): Promise<Expansion> {
    if (!expansion.ok) return { ok: false, outcome: await this.carried(request, expansion.outcome) };
    const bytes = jsonBytes(expansion);
    if (bytes <= HISTORY_RESULT_LIMIT_BYTES) return expansion;
    return { ok: false, outcome: await this.tooLarge(request, `The items of collection "${request.task.id}"`, bytes) };
  }

  /** Records PAYLOAD_TOO_LARGE on the task, keeping the input and output the store already has. */
  private async tooLarge(request: TaskRequest, what: string, bytes: number): Promise<TaskOutcome> {
    const error = toExecutionError(payloadTooLarge(what, bytes));
    const previous = (await this.deps.store.listTaskStates(request.execId)).find((s) => s.taskExecId === request.taskExecId);
    await this.write(request, 'FAILED', { input: previous?.input ?? null, output: previous?.output ?? null, error, usage: previous?.usage ?? null });
    this.taskFailed(request, error, currentAttempt(), false);
    return { taskExecId: request.taskExecId, taskId: request.task.id, status: 'FAILED', error: carriedError(error) };
  }

  private async execution(execId: string): Promise<WorkflowExecutionWithTasks> {
    const execution = await this.deps.store.getWorkflowExecution(execId);
    if (!execution) throw new CompozyError('EXECUTION_NOT_FOUND', `Workflow execution ${execId} is not in the execution store.`);
    return execution;
  }

  /** The execution and the task's template context. The first task to run moves a PENDING execution to RUNNING. */
  private async load(request: TaskRequest): Promise<Loaded> {
    const execution = await this.execution(request.execId);
    if (execution.status === 'PENDING') {
      await this.deps.store.updateWorkflowExecution(request.execId, { status: 'RUNNING' });
      execution.status = 'RUNNING';
      this.notify({ event: 'execution-started', workflow: request.workflowId, execId: request.execId });
    }
    return { execution, ctx: templateContext(execution, request) };
  }

  private notify(event: ExecutionEvent): void {
    this.deps.observer?.(event);
  }

  private taskFailed(request: TaskRequest, error: ExecutionError, attempt: number, retrying: boolean): void {
    this.notify({ event: 'task-failed', workflow: request.workflowId, execId: request.execId, taskId: request.task.id, code: error.code ?? 'TASK_FAILED', message: error.message, attempt, maxAttempts: request.maxAttempts, retrying });
  }

  private render(value: unknown, vars: Record<string, unknown>): unknown {
    return this.templates.renderValue(value, vars);
  }

  private validate(schema: JsonSchema | undefined, value: unknown, code: 'INPUT_INVALID' | 'OUTPUT_INVALID', what: string): void {
    if (!schema) return;
    const errors = this.schemas.problems(schema, value);
    if (errors.length > 0) throw new CompozyError(code, `${what} does not match its schema: ${describeProblems(errors)}.`, { details: { errors } });
  }

  private renderInput(request: TaskRequest, ctx: Record<string, unknown>): Record<string, unknown> {
    const { task } = request;
    const input = { ...asRecord(this.render(task.with, ctx)), ...(request.scope.with ?? {}) };
    this.validate(task.inputSchema, input, 'INPUT_INVALID', `Input of task "${task.id}"`);
    return input;
  }

  private write(request: TaskRequest, status: Status, fields: { input?: unknown; output?: unknown; error?: ExecutionError | null; usage?: unknown }): Promise<TaskState> {
    const { task } = request;
    return this.deps.store.upsertTaskState({
      taskExecId: request.taskExecId,
      taskId: task.id,
      workflowExecId: request.execId,
      workflowId: request.workflowId,
      component: task.agent || (task.prompt && !task.tool) ? 'agent' : task.tool ? 'tool' : 'task',
      status,
      executionType: task.type,
      parentStateId: request.scope.parent?.taskExecId ?? null,
      agentId: task.agent ?? null,
      actionId: task.action ?? null,
      toolId: task.tool ?? null,
      input: fields.input ?? null,
      output: fields.output ?? null,
      error: fields.error ?? null,
      usage: fields.usage ?? null,
    });
  }

  /** The rendered next task id and transition `with`, or nothing when the transition names no next. */
  private next(transition: TransitionDef | undefined, vars: Record<string, unknown>): Pick<TaskOutcome, 'next' | 'nextWith'> {
    if (transition?.next === undefined) return {};
    const rendered = this.render(transition.next, vars);
    if (rendered === null || rendered === undefined || rendered === '') return {};
    return { next: String(rendered), ...(transition.with ? { nextWith: asRecord(this.render(transition.with, vars)) } : {}) };
  }

  /** Applies the failure rules, the output schema and `outputs:`, writes the final state, picks the next task. */
  private async finish(request: TaskRequest, ctx: Record<string, unknown>, options: FinishOptions): Promise<TaskOutcome> {
    const { task } = request;
    const vars = { ...ctx, input: options.input, with: options.input, output: options.raw };
    let error = options.error ?? outputFailure(options.raw);
    let output = options.raw;
    if (!error) {
      try {
        this.validate(task.outputSchema, output, 'OUTPUT_INVALID', `Output of task "${task.id}"`);
        if (task.outputs && !options.skipOutputs) output = this.render(task.outputs, { ...vars, ...(options.outputsVars ?? {}) });
      } catch (failure) {
        error = toExecutionError(failure);
      }
    }
    const base = { taskExecId: request.taskExecId, taskId: task.id };
    if (error) {
      const status: Status = error.code && TIMEOUTS.has(error.code) ? 'TIMED_OUT' : 'FAILED';
      await this.write(request, status, { input: options.input, output: options.raw ?? null, error, usage: options.usage });
      this.taskFailed(request, error, currentAttempt(), false);
      return { ...base, status, error, ...this.safeNext(task.onError, { ...vars, error }) };
    }
    await this.write(request, 'SUCCESS', { input: options.input, output, usage: options.usage });
    try {
      return { ...base, status: 'SUCCESS', ...this.next(task.onSuccess, { ...vars, output }) };
    } catch (failure) {
      const transitionError = toExecutionError(failure);
      await this.write(request, 'FAILED', { input: options.input, output, error: transitionError, usage: options.usage });
      return { ...base, status: 'FAILED', error: transitionError };
    }
  }

  /** The error transition must not itself hide the failure: a template error there leaves no next. */
  private safeNext(transition: TransitionDef | undefined, vars: Record<string, unknown>): Pick<TaskOutcome, 'next' | 'nextWith'> {
    try {
      return this.next(transition, vars);
    } catch {
      return {};
    }
  }

  /** basic, signal and memory tasks: the ones with side effects. */
  async executeTask(request: TaskRequest): Promise<TaskOutcome> {
    const stop = heartbeating();
    try {
      const { ctx } = await this.load(request);
      let input: Record<string, unknown>;
      try {
        input = this.renderInput(request, ctx);
      } catch (error) {
        return await this.finish(request, ctx, { input: null, error: toExecutionError(error) });
      }
      await this.write(request, 'RUNNING', { input });
      let result: { raw: unknown; usage?: unknown };
      try {
        result = await this.run(request.task, input, { ...ctx, input, with: input });
      } catch (error) {
        const code = codeOf(error);
        const permanent = code !== undefined && (PERMANENT.has(code) || (request.task.activity.retry.nonRetryableErrorTypes ?? []).includes(code));
        const attempt = currentAttempt();
        if (!permanent && attempt < request.maxAttempts) {
          this.taskFailed(request, toExecutionError(error), attempt, true);
          throw carriedThrow(error);
        }
        return await this.finish(request, ctx, { input, error: toExecutionError(error) });
      }
      if (Context.current().cancellationSignal.aborted) throw Context.current().cancellationSignal.reason;
      return await this.finish(request, ctx, { input, ...result });
    } finally {
      stop();
    }
  }

  private async run(task: TaskDef, input: Record<string, unknown>, ctx: Record<string, unknown>): Promise<{ raw: unknown; usage?: unknown }> {
    switch (task.type) {
      case 'signal': {
        const signal = task.signal;
        if (!signal?.id) throw new CompozyError('SIGNAL_FAILED', `Signal task "${task.id}" has no signal.id.`);
        const payload = this.render(signal.payload ?? {}, ctx);
        await this.deps.signals.dispatch(signal.id, payload, { workflowExecId: String(asRecord(ctx.workflow).exec_id) });
        return { raw: { signal_dispatched: true, signal_id: signal.id } };
      }
      case 'memory': {
        const memory = task.memory ?? { operation: '' };
        const key = memory.keyTemplate === undefined ? '' : String(this.render(memory.keyTemplate, ctx));
        const payload = memory.payload === undefined ? undefined : this.render(memory.payload, ctx);
        const raw = await this.deps.memory.execute({
          operation: memory.operation,
          key,
          task,
          ...(memory.memoryRef !== undefined ? { memoryRef: memory.memoryRef } : {}),
          ...(payload !== undefined ? { payload } : {}),
        });
        return { raw };
      }
      default:
        if (task.tool) return { raw: await this.deps.tools.call(task.tool, input, task.timeoutMs === undefined ? {} : { timeoutMs: task.timeoutMs }) };
        if (task.agent || task.prompt) {
          const prompt = task.prompt === undefined ? undefined : String(this.render(task.prompt, ctx));
          const result = await this.deps.agents.run({
            input,
            context: ctx,
            ...(task.agent ? { agentId: task.agent } : {}),
            ...(task.action ? { actionId: task.action } : {}),
            ...(prompt !== undefined ? { prompt } : {}),
            ...(task.model ? { model: task.model } : {}),
          });
          return { raw: result.output, ...(result.usage ? { usage: result.usage } : {}) };
        }
        return { raw: input };
    }
  }

  /** Parents and wait tasks: render the input and record RUNNING. */
  async beginTask(request: TaskRequest): Promise<TaskOutcome> {
    const { ctx } = await this.load(request);
    try {
      const input = this.renderInput(request, ctx);
      await this.write(request, 'RUNNING', { input });
      return { taskExecId: request.taskExecId, taskId: request.task.id, status: 'RUNNING' };
    } catch (error) {
      return this.finish(request, ctx, { input: null, error: toExecutionError(error) });
    }
  }

  /** States the workflow decides on its own: a child canceled by its parent, an activity that ran out of attempts. */
  async recordTask(request: TaskRequest, status: Status, error?: ExecutionError): Promise<TaskOutcome> {
    const { execution, ctx } = await this.load(request);
    const previous = execution.taskStates.find((s) => s.taskExecId === request.taskExecId);
    await this.write(request, status, { input: previous?.input ?? null, output: previous?.output ?? null, error: error ?? null });
    if ((status === 'FAILED' || status === 'TIMED_OUT') && error) this.taskFailed(request, error, request.maxAttempts, false);
    if (status !== 'FAILED' && status !== 'TIMED_OUT') return { taskExecId: request.taskExecId, taskId: request.task.id, status, ...(error ? { error } : {}) };
    return { taskExecId: request.taskExecId, taskId: request.task.id, status, ...(error ? { error } : {}), ...this.safeNext(request.task.onError, { ...ctx, input: previous?.input ?? {}, error }) };
  }

  async routeTask(request: TaskRequest): Promise<TaskOutcome> {
    const { ctx } = await this.load(request);
    const { task } = request;
    let input: Record<string, unknown> = {};
    try {
      input = this.renderInput(request, ctx);
      const routes = task.routes ?? {};
      const key = chooseRoute(task.condition ?? '', routes, { ...ctx, input, with: input, task: { ...asRecord(ctx.task), input } }, this.templates);
      const route = routes[key] as string | TaskDef;
      const output = { condition: task.condition ?? '', route_taken: typeof route === 'string' ? route : route.id, router_type: 'conditional' };
      await this.write(request, 'SUCCESS', { input, output });
      return { taskExecId: request.taskExecId, taskId: task.id, status: 'SUCCESS', ...(typeof route === 'string' ? { next: route } : { inline: route }) };
    } catch (error) {
      return this.finish(request, ctx, { input, error: toExecutionError(error) });
    }
  }

  async aggregateTask(request: TaskRequest): Promise<TaskOutcome> {
    const { ctx } = await this.load(request);
    try {
      const input = this.renderInput(request, ctx);
      const raw = this.render(request.task.outputs ?? {}, { ...ctx, input, with: input });
      return await this.finish(request, ctx, { input, raw, skipOutputs: true });
    } catch (error) {
      return this.finish(request, ctx, { input: null, error: toExecutionError(error) });
    }
  }

  /** A collection's items, filtered, each bound to a child task whose id is rendered with the item. */
  async expandCollection(request: TaskRequest): Promise<Expansion> {
    const { ctx } = await this.load(request);
    const { task } = request;
    let input: Record<string, unknown> | null = null;
    try {
      input = this.renderInput(request, ctx);
      const vars = { ...ctx, input, with: input };
      const items = collectionItems(this.render(task.items, vars), task.id);
      const perItem = task.task ? [task.task] : (task.tasks ?? []);
      if (perItem.length === 0) throw new CompozyError('TASK_FAILED', `Collection task "${task.id}" has no task: to run for each item.`);
      const children = [];
      let skippedCount = 0;
      for (const [index, item] of items.entries()) {
        const itemVars = { [task.itemVar]: item, [task.indexVar]: index };
        if (task.filter && !evaluateCondition(task.filter, { ...vars, item, index, ...itemVars })) {
          skippedCount++;
          continue;
        }
        for (const template of perItem) {
          const id = String(this.render(template.id, { ...vars, ...itemVars }));
          children.push({ task: { ...template, id }, vars: itemVars });
        }
      }
      await this.write(request, 'RUNNING', { input });
      return { ok: true, children, itemCount: items.length, skippedCount };
    } catch (error) {
      return { ok: false, outcome: await this.finish(request, ctx, { input, error: toExecutionError(error) }) };
    }
  }

  async finishParent(request: FinishParentRequest): Promise<TaskOutcome> {
    const { execution, ctx } = await this.load(request);
    const states = execution.taskStates;
    const byExecId = new Map(states.map((s) => [s.taskExecId, s]));
    const own = byExecId.get(request.taskExecId);
    const info = progressInfo(request.children.map((c) => c.status), request.task.strategy ?? 'wait_all');
    const outputs: Record<string, unknown> = {};
    for (const child of request.children) outputs[child.taskId] = byExecId.get(child.taskExecId)?.output ?? null;
    const raw: Record<string, unknown> = { progress_info: info, outputs };
    if (request.collection) raw.collection_metadata = { item_count: request.collection.itemCount, skipped_count: request.collection.skippedCount };
    const input = own?.input ?? {};
    // No children (an empty or fully filtered collection) is nothing to wait for, not a failure.
    if (request.children.length > 0 && info.overall_status !== 'SUCCESS') {
      return this.finish(request, ctx, { input, raw, error: { code: 'child_task_failure', message: parentFailure(request.task.type, info, request.children) } });
    }
    const children = tasksView(states.filter((s) => s.parentStateId === request.taskExecId || s.taskExecId === request.taskExecId))[request.task.id]?.children ?? {};
    return this.finish(request, ctx, { input, raw, outputsVars: { output: outputs, children } });
  }

  async settleWait(request: SettleWaitRequest): Promise<{ settled: boolean; outcome?: TaskOutcome }> {
    const { execution, ctx } = await this.load(request);
    const states = execution.taskStates;
    const input = states.find((s) => s.taskExecId === request.taskExecId)?.input ?? {};
    const { task } = request;
    const settle = async (options: FinishOptions, next?: string): Promise<{ settled: boolean; outcome: TaskOutcome }> => {
      await this.markWorkflow(request.execId, 'RUNNING');
      const outcome = await this.finish(request, ctx, options);
      return { settled: true, outcome: next && outcome.status !== 'SUCCESS' ? { ...outcome, next } : outcome };
    };
    if (request.timedOut) {
      const timeout = task.timeoutMs ?? 0;
      const error = { code: 'WAIT_TIMEOUT', message: `wait task timed out after ${formatMs(timeout)}`, details: { signal_name: task.waitFor, timeout: formatMs(timeout) } };
      return settle({ input, error }, task.onTimeout);
    }
    const processorState = request.processorExecId ? states.find((s) => s.taskExecId === request.processorExecId) : undefined;
    const processor = { output: processorState?.output ?? null, error: processorState?.error ?? null };
    if (processor.error) return settle({ input, error: { code: 'WAIT_TASK_ERROR', message: `wait processor failed: ${processor.error.message}` } });
    let met: boolean;
    try {
      met = evaluateCondition(task.condition ?? 'true', { ...ctx, input, signal: request.signal ?? null, processor });
    } catch (error) {
      return settle({ input, error: { code: 'WAIT_TASK_ERROR', message: errorMessage(error) } });
    }
    if (!met) return { settled: false };
    return settle({ input, raw: { wait_status: 'completed', signal: request.signal ?? null, processor_output: processor } });
  }

  async markWorkflow(execId: string, status: Status): Promise<void> {
    await this.deps.store.updateWorkflowExecution(execId, { status });
  }

  /** Once per execution: a local activity that runs again (at least once) finds it already terminal. */
  private finished(execution: WorkflowExecutionWithTasks, status: Status, error: ExecutionError | null): void {
    if (isTerminal(execution.status)) return;
    this.notify({
      event: 'execution-finished',
      workflow: execution.workflowId,
      execId: execution.workflowExecId,
      status,
      durationMs: Math.max(0, Date.now() - Date.parse(execution.createdAt)),
      ...(error ? { error: { code: error.code ?? 'TASK_FAILED', message: error.message } } : {}),
    });
  }

  /**
   * The workflow's final status and output (reference §3.4): FAILED when any top-level task failed,
   * even one handled by on_error; the output is `outputs:` rendered, or every task's output by id.
   * The output stays in the store: the workflow's own result is only the status and a bounded error,
   * so the last workflow task always fits in what Temporal carries and the run completes.
   */
  async completeWorkflow(request: { execId: string; env: Record<string, string>; outputs?: Record<string, unknown>; failure?: ExecutionError; canceled?: boolean }): Promise<RunResult> {
    const execution = await this.execution(request.execId);
    const states = execution.taskStates;
    if (request.canceled) {
      const error = { code: 'CANCELED', message: 'the execution was canceled' };
      await this.deps.store.updateWorkflowExecution(request.execId, { status: 'CANCELED', error });
      this.finished(execution, 'CANCELED', error);
      return { status: 'CANCELED', error };
    }
    const topFailed = states.find((s) => !s.parentStateId && (s.status === 'FAILED' || s.status === 'TIMED_OUT'));
    let status: Status = request.failure || topFailed ? 'FAILED' : 'SUCCESS';
    let error: ExecutionError | null = request.failure ?? (topFailed ? { code: topFailed.error?.code ?? 'TASK_FAILED', message: `task ${topFailed.taskId} failed: ${topFailed.error?.message ?? 'unknown error'}` } : null);
    const defaults: Record<string, unknown> = {};
    for (const state of [...states].sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0))) {
      defaults[state.taskId] = {
        output: state.output,
        ...(state.parentStateId ? { parent_state_id: state.parentStateId } : {}),
        ...(state.executionType !== 'basic' ? { execution_type: state.executionType } : {}),
      };
    }
    let output: unknown = defaults;
    if (request.outputs) {
      const ctx = workflowContext(execution, request.env);
      try {
        output = this.render(request.outputs, { ...ctx, output: defaults, status, workflow_id: execution.workflowId, workflow_exec_id: execution.workflowExecId, error });
      } catch (failure) {
        // A workflow that already failed keeps its own error: its outputs often read the failed task's result, and that would hide the cause.
        if (!error) {
          status = 'FAILED';
          error = { code: 'OUTPUT_TRANSFORMATION_FAILED', message: `workflow outputs: ${errorMessage(failure)}` };
        }
      }
    }
    await this.deps.store.updateWorkflowExecution(request.execId, { status, output, error, usage: usageSummary(states) });
    this.finished(execution, status, error);
    return { status, error: error ? carriedError(error) : null };
  }
}

/** `items:` as a list: arrays as they are, a JSON array string parsed, a map as {key, value} entries. */
function collectionItems(value: unknown, taskId: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' && value.trim().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // reported below with the value
    }
  }
  if (value !== null && typeof value === 'object') return Object.entries(value).map(([key, item]) => ({ key, value: item }));
  throw new CompozyError('TASK_FAILED', `items of collection "${taskId}" rendered to ${JSON.stringify(value)}, not a list.`, {
    hint: 'Point items: at an array, e.g. "{{ .tasks.x.output.list }}".',
  });
}

function parentFailure(type: string, info: ReturnType<typeof progressInfo>, children: readonly ChildResult[]): string {
  const counts = Object.entries(info.status_counts).map(([k, v]) => `${k}:${v}`).join(',');
  const failed = children.filter((c) => c.status === 'FAILED' || c.status === 'TIMED_OUT').map((c) => `task[${c.taskId}]: ${c.error?.message ?? c.status}`);
  return (
    `${type} task failed: success=${info.success_count}, failed=${info.failed_count}, canceled=${info.canceled_count}, timed_out=${info.timed_out_count}, ` +
    `terminal=${info.terminal_count}/${info.total_children}, status_counts=${counts}` + (failed.length > 0 ? ` | Failed tasks: [${failed.join('; ')}]` : '')
  );
}

/** Token usage over the execution's agent tasks, per provider:model; null when no agent ran. */
function usageSummary(states: readonly TaskState[]): unknown {
  const byModel = new Map<string, { provider: string; model: string; input_tokens: number; output_tokens: number; calls: number }>();
  for (const state of states) {
    const usage = state.usage as { provider?: string; model?: string; input_tokens?: number; output_tokens?: number } | null;
    if (!usage?.provider) continue;
    const key = `${usage.provider}:${usage.model ?? ''}`;
    const entry = byModel.get(key) ?? { provider: usage.provider, model: usage.model ?? '', input_tokens: 0, output_tokens: 0, calls: 0 };
    entry.input_tokens += usage.input_tokens ?? 0;
    entry.output_tokens += usage.output_tokens ?? 0;
    entry.calls++;
    byModel.set(key, entry);
  }
  if (byModel.size === 0) return null;
  const models = [...byModel.values()];
  return { input_tokens: models.reduce((n, m) => n + m.input_tokens, 0), output_tokens: models.reduce((n, m) => n + m.output_tokens, 0), models };
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
