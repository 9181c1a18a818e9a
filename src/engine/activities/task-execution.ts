import { Context } from '@temporalio/activity';
import type { ExecutionError, Status } from '../../store/store.js';
import { carriedThrow } from '../history-limits.js';
import type { ExecutingTaskDef } from '../definition.js';
import type { TaskOutcome, TaskRequest } from '../protocol.js';
import { aggregateOutput, type AggregateTaskDef } from '../tasks/aggregate.js';
import { componentIds, runBasic, type ComponentIds } from '../tasks/basic.js';
import type { TaskRunResult } from '../tasks/kind.js';
import { runMemory } from '../tasks/memory.js';
import { takeRoute, type RouterTaskDef } from '../tasks/router.js';
import { runSignal } from '../tasks/signal.js';
import { isFailed, isPermanent, toExecutionError } from './outcome.js';
import { currentAttempt, recordedIds, type TaskRuntime } from './task-runtime.js';

/** Keeps a running activity's heartbeat going, so a worker that dies is noticed at the heartbeat timeout. */
function heartbeating(): () => void {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 1000);
  return () => clearInterval(timer);
}

/** Running tasks: the ones with side effects (basic, signal, memory), routers and aggregates, and the states the workflow decides. */
export class TaskExecution {
  constructor(private readonly rt: TaskRuntime) {}

  /** basic, signal and memory tasks: a regular activity, retried by Temporal until its last attempt. */
  async executeTask(request: TaskRequest<ExecutingTaskDef>): Promise<TaskOutcome> {
    const stop = heartbeating();
    try {
      const { ctx } = await this.rt.load(request);
      let input: Record<string, unknown>;
      try {
        input = this.rt.renderInput(request, ctx);
      } catch (error) {
        return await this.rt.finish(request, ctx, { input: null, error: toExecutionError(error) });
      }
      const vars = { ...ctx, input, with: input };
      let ids: ComponentIds = {};
      try {
        if (request.task.type === 'basic') ids = componentIds(request.task, vars, this.rt);
      } catch (error) {
        return await this.rt.finish(request, ctx, { input, error: toExecutionError(error) });
      }
      await this.rt.write(request, 'RUNNING', { input, ids });
      let result: TaskRunResult;
      try {
        result = await this.run(request, ids, input, vars);
      } catch (error) {
        const attempt = currentAttempt();
        if (!isPermanent(error, request.task.activity.retry.nonRetryableErrorTypes) && attempt < request.maxAttempts) {
          this.rt.taskFailed(request, toExecutionError(error), attempt, true);
          throw carriedThrow(error);
        }
        return await this.rt.finish(request, ctx, { input, ids, error: toExecutionError(error) });
      }
      if (Context.current().cancellationSignal.aborted) throw Context.current().cancellationSignal.reason;
      return await this.rt.finish(request, ctx, { input, ids, ...result });
    } finally {
      stop();
    }
  }

  private run(request: TaskRequest<ExecutingTaskDef>, ids: ComponentIds, input: Record<string, unknown>, ctx: Record<string, unknown>): Promise<TaskRunResult> {
    const { task } = request;
    switch (task.type) {
      case 'signal':
        return runSignal(task, ctx, this.rt);
      case 'memory':
        return runMemory(task, ctx, this.rt);
      case 'basic':
        return runBasic(task, ids, input, ctx, this.rt, this.rt.agentStepRecorder(request, ids));
    }
  }

  /** Parents and wait tasks: render the input and record RUNNING. */
  async beginTask(request: TaskRequest): Promise<TaskOutcome> {
    const { ctx } = await this.rt.load(request);
    try {
      const input = this.rt.renderInput(request, ctx);
      await this.rt.write(request, 'RUNNING', { input });
      return { taskExecId: request.taskExecId, taskId: request.task.id, status: 'RUNNING' };
    } catch (error) {
      return this.rt.finish(request, ctx, { input: null, error: toExecutionError(error) });
    }
  }

  /** States the workflow decides on its own: a child canceled by its parent, an activity that ran out of attempts. */
  async recordTask(request: TaskRequest, status: Status, error?: ExecutionError): Promise<TaskOutcome> {
    const { ctx, own: previous } = await this.rt.load(request, { own: true });
    await this.rt.write(request, status, { input: previous?.input ?? null, output: previous?.output ?? null, error: error ?? null, ...(previous ? { ids: recordedIds(previous) } : {}) });
    if (isFailed(status) && error) this.rt.taskFailed(request, error, request.maxAttempts, false);
    const outcome: TaskOutcome = { taskExecId: request.taskExecId, taskId: request.task.id, status, ...(error ? { error } : {}) };
    if (!isFailed(status)) return outcome;
    return { ...outcome, ...this.rt.safeNext(request.task.onError, { ...ctx, input: previous?.input ?? {}, error }) };
  }

  async routeTask(request: TaskRequest<RouterTaskDef>): Promise<TaskOutcome> {
    const { ctx } = await this.rt.load(request);
    let input: Record<string, unknown> = {};
    try {
      input = this.rt.renderInput(request, ctx);
      const { output, route } = takeRoute(request.task, input, ctx, this.rt);
      await this.rt.write(request, 'SUCCESS', { input, output });
      return { taskExecId: request.taskExecId, taskId: request.task.id, status: 'SUCCESS', ...(typeof route === 'string' ? { next: route } : { inline: route }) };
    } catch (error) {
      return this.rt.finish(request, ctx, { input, error: toExecutionError(error) });
    }
  }

  async aggregateTask(request: TaskRequest<AggregateTaskDef>): Promise<TaskOutcome> {
    const { ctx } = await this.rt.load(request);
    try {
      const input = this.rt.renderInput(request, ctx);
      const raw = aggregateOutput(request.task, input, ctx, this.rt);
      return await this.rt.finish(request, ctx, { input, raw, skipOutputs: true });
    } catch (error) {
      return this.rt.finish(request, ctx, { input: null, error: toExecutionError(error) });
    }
  }
}
