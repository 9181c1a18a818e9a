import { Context } from '@temporalio/activity';
import { CompozyError } from '../../errors.js';
import { defined } from '../../config/read.js';
import { describeProblems, SchemaValidator } from '../../platform/schema-validator.js';
import { templates, type TemplateEngine } from '../../expr/template.js';
import type { ExecutionError, Status, TaskState, WorkflowExecution, WorkflowExecutionWithTasks } from '../../store/store.js';
import { templateContext } from '../context.js';
import type { JsonSchema, TransitionDef } from '../definition.js';
import type { AgentStep, EngineDeps } from '../executors.js';
import { carriedError, HISTORY_RESULT_LIMIT_BYTES, jsonBytes, payloadTooLarge } from '../history-limits.js';
import type { ExecutionEvent } from '../observer.js';
import type { Expansion, TaskOutcome, TaskRequest } from '../protocol.js';
import { componentOf, type ComponentIds } from '../tasks/basic.js';
import type { HandlerContext } from '../tasks/kind.js';
import { failureStatus, outputFailure, toExecutionError } from './outcome.js';

export interface Loaded {
  execution: WorkflowExecution;
  ctx: Record<string, unknown>;
  /** The task's own stored state (its input, once it began), when asked for. */
  own: TaskState | undefined;
  /** A wait processor's state, when asked for. */
  processor: TaskState | undefined;
  /** The task's direct children, when asked for. */
  children: TaskState[];
}

const INPUT_CACHE_SIZE = 256;

function notInStore(execId: string): CompozyError {
  return new CompozyError('EXECUTION_NOT_FOUND', `Workflow execution ${execId} is not in the execution store.`);
}

export interface FinishOptions {
  input: unknown;
  raw?: unknown;
  /** An agent's token usage, kept on the task state. */
  usage?: unknown;
  error?: ExecutionError;
  /** Variables for `outputs:` when they differ from `{output: raw}` (parents: the outputs map and children). */
  outputsVars?: Record<string, unknown>;
  /** Aggregate tasks: `outputs:` already are the output. */
  skipOutputs?: boolean;
  /** A basic task's rendered agent, action and tool ids (else the definition's are recorded). */
  ids?: ComponentIds;
}

/** The ids a stored state records, to write them again unchanged. */
export function recordedIds(state: Pick<TaskState, 'agentId' | 'actionId' | 'toolId'>): ComponentIds {
  return defined({ agent: state.agentId ?? undefined, action: state.actionId ?? undefined, tool: state.toolId ?? undefined });
}

/** The attempt of the running activity (1 outside an activity, e.g. under a test harness). */
export function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

export function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * What every activity of a task does around its type's own handler: load the execution and the
 * task's template context, render and validate its input, write its state, apply the failure rules
 * and `outputs:`, pick the next task, and keep what goes back into history within its limits.
 */
export class TaskRuntime implements HandlerContext {
  readonly templates: TemplateEngine;
  private readonly schemas = new SchemaValidator();

  constructor(readonly deps: EngineDeps) {
    this.templates = deps.templates ?? templates;
  }

  /**
   * Execution inputs already read, by execution id (the most recent INPUT_CACHE_SIZE): an input never
   * changes, and reading a large one for every task would make each task's cost grow with it.
   */
  private readonly inputs = new Map<string, { input: unknown }>();

  private remember(execId: string, input: unknown): void {
    this.inputs.set(execId, { input });
    if (this.inputs.size > INPUT_CACHE_SIZE) this.inputs.delete(this.inputs.keys().next().value as string);
  }

  /** The execution with every task state: for the workflow's completion, which sees all of them. */
  async execution(execId: string): Promise<WorkflowExecutionWithTasks> {
    const execution = await this.deps.store.getWorkflowExecution(execId);
    if (!execution) throw notInStore(execId);
    return execution;
  }

  /**
   * The execution and the task's template context, in one store read of what the task's templates name
   * (its `reads`), its parent's state, and what the caller asks for besides. The first task to run
   * moves a PENDING execution to RUNNING.
   */
  async load(request: TaskRequest, want: { own?: boolean; processorExecId?: string; children?: boolean } = {}): Promise<Loaded> {
    const parentExecId = request.scope.parent?.taskExecId;
    const byExecId = [...(want.own ? [request.taskExecId] : []), ...(parentExecId ? [parentExecId] : []), ...(want.processorExecId ? [want.processorExecId] : [])];
    const known = this.inputs.get(request.execId);
    const context = await this.deps.store.readTaskContext(request.execId, {
      taskIds: request.task.reads ?? 'all',
      ...(known ? { withoutInput: true } : {}),
      ...(byExecId.length > 0 ? { taskExecIds: byExecId } : {}),
      ...(want.children ? { childrenOf: request.taskExecId } : {}),
    });
    if (!context) throw notInStore(request.execId);
    const execution = known ? { ...context.execution, input: known.input } : context.execution;
    if (!known) this.remember(request.execId, execution.input);
    if (execution.status === 'PENDING') {
      await this.deps.store.updateWorkflowExecution(request.execId, { status: 'RUNNING' });
      execution.status = 'RUNNING';
      this.notify({ event: 'execution-started', workflow: request.workflowId, execId: request.execId });
    }
    const state = (taskExecId: string | undefined) => (taskExecId === undefined ? undefined : context.states.find((s) => s.taskExecId === taskExecId));
    return {
      execution,
      ctx: templateContext(execution, context.tasks, request, state(parentExecId)),
      own: state(want.own ? request.taskExecId : undefined),
      processor: state(want.processorExecId),
      children: context.children,
    };
  }

  notify(event: ExecutionEvent): void {
    this.deps.observer?.(event);
  }

  /** Where an agent task's steps go: its execution's stream log, with the task's scope; undefined when nothing records them. */
  agentStepRecorder(request: TaskRequest, ids: ComponentIds): ((step: AgentStep) => Promise<void>) | undefined {
    const record = this.deps.agentSteps;
    if (!record) return undefined;
    const scope = { workflowId: request.workflowId, taskExecId: request.taskExecId, taskId: request.task.id, agentId: ids.agent ?? null };
    return (step) => record(request.execId, scope, step);
  }

  taskFailed(request: TaskRequest, error: ExecutionError, attempt: number, retrying: boolean): void {
    this.notify({ event: 'task-failed', workflow: request.workflowId, execId: request.execId, taskId: request.task.id, code: error.code ?? 'TASK_FAILED', message: error.message, attempt, maxAttempts: request.maxAttempts, retrying });
  }

  render(value: unknown, vars: Record<string, unknown>): unknown {
    return this.templates.renderValue(value, vars);
  }

  validate(schema: JsonSchema | undefined, value: unknown, code: 'INPUT_INVALID' | 'OUTPUT_INVALID', what: string): void {
    if (!schema) return;
    const errors = this.schemas.problems(schema, value);
    if (errors.length > 0) throw new CompozyError(code, `${what} does not match its schema: ${describeProblems(errors)}.`, { details: { errors } });
  }

  renderInput(request: TaskRequest, ctx: Record<string, unknown>): Record<string, unknown> {
    const { task } = request;
    const input = { ...asRecord(this.render(task.with, ctx)), ...(request.scope.with ?? {}) };
    this.validate(task.inputSchema, input, 'INPUT_INVALID', `Input of task "${task.id}"`);
    return input;
  }

  write(request: TaskRequest, status: Status, fields: { input?: unknown; output?: unknown; error?: ExecutionError | null; usage?: unknown; ids?: ComponentIds }): Promise<TaskState> {
    const { task } = request;
    const basic = fields.ids ?? (task.type === 'basic' ? task : undefined);
    return this.deps.store.upsertTaskState({
      taskExecId: request.taskExecId,
      taskId: task.id,
      workflowExecId: request.execId,
      workflowId: request.workflowId,
      component: componentOf(task),
      status,
      executionType: task.type,
      parentStateId: request.scope.parent?.taskExecId ?? null,
      agentId: basic?.agent ?? null,
      actionId: basic?.action ?? null,
      toolId: basic?.tool ?? null,
      input: fields.input ?? null,
      output: fields.output ?? null,
      error: fields.error ?? null,
      usage: fields.usage ?? null,
    });
  }

  /** The rendered next task id and transition `with`, or nothing when the transition names no next. */
  next(transition: TransitionDef | undefined, vars: Record<string, unknown>): Pick<TaskOutcome, 'next' | 'nextWith'> {
    if (transition?.next === undefined) return {};
    const rendered = this.render(transition.next, vars);
    if (rendered === null || rendered === undefined || rendered === '') return {};
    return { next: String(rendered), ...(transition.with ? { nextWith: asRecord(this.render(transition.with, vars)) } : {}) };
  }

  /** The error transition must not itself hide the failure: a template error there leaves no next. */
  safeNext(transition: TransitionDef | undefined, vars: Record<string, unknown>): Pick<TaskOutcome, 'next' | 'nextWith'> {
    try {
      return this.next(transition, vars);
    } catch {
      return {};
    }
  }

  /** Applies the failure rules, the output schema and `outputs:`, writes the final state, picks the next task. */
  async finish(request: TaskRequest, ctx: Record<string, unknown>, options: FinishOptions): Promise<TaskOutcome> {
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
      const status = failureStatus(error);
      await this.write(request, status, { input: options.input, output: options.raw ?? null, error, usage: options.usage, ids: options.ids });
      this.taskFailed(request, error, currentAttempt(), false);
      return { ...base, status, error, ...this.safeNext(task.onError, { ...vars, error }) };
    }
    await this.write(request, 'SUCCESS', { input: options.input, output, usage: options.usage, ids: options.ids });
    try {
      return { ...base, status: 'SUCCESS', ...this.next(task.onSuccess, { ...vars, output }) };
    } catch (failure) {
      const transitionError = toExecutionError(failure);
      await this.write(request, 'FAILED', { input: options.input, output, error: transitionError, usage: options.usage, ids: options.ids });
      return { ...base, status: 'FAILED', error: transitionError };
    }
  }

  /** The outcome as history may carry it; one over the limit (a transition's `with`) fails the task instead. */
  async carried(request: TaskRequest, outcome: TaskOutcome): Promise<TaskOutcome> {
    const compact = outcome.error ? { ...outcome, error: carriedError(outcome.error) } : outcome;
    const bytes = jsonBytes(compact);
    if (bytes <= HISTORY_RESULT_LIMIT_BYTES) return compact;
    return this.tooLarge(request, `The result of task "${request.task.id}" (its transition's with:)`, bytes);
  }

  async carriedExpansion(request: TaskRequest, expansion: Expansion): Promise<Expansion> {
    if (!expansion.ok) return { ok: false, outcome: await this.carried(request, expansion.outcome) };
    const bytes = jsonBytes(expansion);
    if (bytes <= HISTORY_RESULT_LIMIT_BYTES) return expansion;
    return { ok: false, outcome: await this.tooLarge(request, `The items of collection "${request.task.id}"`, bytes) };
  }

  /** Records PAYLOAD_TOO_LARGE on the task, keeping the input and output the store already has. */
  private async tooLarge(request: TaskRequest, what: string, bytes: number): Promise<TaskOutcome> {
    const error = toExecutionError(payloadTooLarge(what, bytes));
    const previous = (await this.deps.store.readTaskContext(request.execId, { taskIds: [], taskExecIds: [request.taskExecId] }))?.states[0];
    await this.write(request, 'FAILED', { input: previous?.input ?? null, output: previous?.output ?? null, error, usage: previous?.usage ?? null });
    this.taskFailed(request, error, currentAttempt(), false);
    return { taskExecId: request.taskExecId, taskId: request.task.id, status: 'FAILED', error: carriedError(error) };
  }
}
