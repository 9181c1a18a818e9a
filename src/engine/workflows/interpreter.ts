import {
  ApplicationFailure,
  CancellationScope,
  type ChildWorkflowHandle,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  TimeoutFailure,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { ExecutionError, Status } from '../../store/store.js';
import type { EngineActivityFunctions } from '../activities/engine-activities.js';
import type { ExecutingTaskDef, TaskDef } from '../definition.js';
import { engineError } from '../engine-error.js';
import type { CollectionTaskDef } from '../tasks/collection.js';
import type { CompositeTaskDef } from '../tasks/composite.js';
import type { ParallelTaskDef } from '../tasks/parallel.js';
import type { WaitTaskDef } from '../tasks/wait.js';
import { settledEarly, type Strategy } from '../progress.js';
import { TaskIds } from '../task-ids.js';
import type { BatchInput, ChildItem, ChildList, ChildResult, RunInput, RunResult, SignalEnvelope, TaskOutcome, TaskRequest, TaskScope } from '../protocol.js';
import { deliverSignal, pauseSignal, resumeSignal, stateQuery } from './messages.js';

type Activities = EngineActivityFunctions;

/** Bookkeeping (rendering, routing, state writes) runs as local activities: no task-queue round trip. */
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds', maximumAttempts: 10 },
});

const DEFAULT_ATTEMPTS = 3;
/**
 * Children of one parent in flight at once, whatever max_workers says: Temporal fails every workflow
 * task of a run with more than 2,000 pending activities (the run then never ends) and advises 500.
 */
const MAX_IN_FLIGHT_CHILDREN = 500;
/**
 * Children per child workflow when a parent has more (a collection of 10,000 items runs 20 batches):
 * a batch of tool children stays near 2,000 history events, far from the 51,200 a run may have.
 */
const BATCH_SIZE = 500;
/** Batches of one parent in flight at once: enough to keep the workers busy, few enough that their activities do not pile up in the task queue. */
const MAX_BATCHES_IN_FLIGHT = 4;
/** Room past a task's own timeout, so the tool's or model's typed timeout error arrives first. */
const TIMEOUT_GRACE_MS = 30_000;

/**
 * Task executions (tools, agents) are regular activities so any worker can take them; they heartbeat,
 * so a worker that dies is noticed at the heartbeat timeout rather than the activity timeout.
 */
function executor(task: ExecutingTaskDef, attempts: number): Activities['executeTask'] {
  const { activity } = task;
  const startToClose = activity.startToCloseMs ?? (task.timeoutMs === undefined ? 5 * 60_000 : task.timeoutMs + TIMEOUT_GRACE_MS);
  return proxyActivities<Activities>({
    startToCloseTimeout: startToClose,
    ...(activity.scheduleToCloseMs !== undefined ? { scheduleToCloseTimeout: activity.scheduleToCloseMs } : {}),
    heartbeatTimeout: activity.heartbeatMs ?? 10_000,
    retry: {
      maximumAttempts: attempts,
      initialInterval: activity.retry.initialIntervalMs ?? 1000,
      backoffCoefficient: activity.retry.backoffCoefficient ?? 2,
      maximumInterval: activity.retry.maximumIntervalMs ?? 60_000,
    },
  }).executeTask;
}

function settlesEarly(strategy: Strategy): boolean {
  return strategy === 'fail_fast' || strategy === 'race';
}

/** Whether a task waits for signals, which reach the execution's own workflow only (so it cannot run in a batch). */
function waitsForSignals(task: TaskDef): boolean {
  switch (task.type) {
    case 'wait':
      return true;
    case 'parallel':
    case 'composite':
      return task.tasks.some(waitsForSignals);
    case 'collection':
      return [...(task.task ? [task.task] : []), ...(task.tasks ?? [])].some(waitsForSignals);
    case 'router':
      return Object.values(task.routes).some((route) => typeof route !== 'string' && waitsForSignals(route));
    default:
      return false;
  }
}

function failed(outcome: TaskOutcome): boolean {
  return outcome.status === 'FAILED' || outcome.status === 'TIMED_OUT';
}

function failureMessage(error: unknown): string {
  let current = error as { message?: string; cause?: unknown } | undefined;
  let message = current?.message ?? String(error);
  while (current?.cause) {
    current = current.cause as { message?: string; cause?: unknown };
    if (current.message) message = current.message;
  }
  return message;
}

class Interpreter {
  private status: Status = 'RUNNING';
  private paused = false;
  private readonly running = new Set<string>();
  private readonly taskStatus: Record<string, Status> = {};
  private readonly inbox: SignalEnvelope[];
  private readonly ids: TaskIds;
  /** Batches of children running as child workflows: pause and resume reach them too. */
  private readonly batchHandles = new Set<ChildWorkflowHandle<typeof compozyBatch>>();

  constructor(private readonly input: RunInput) {
    this.inbox = [...(input.pendingSignals ?? [])];
    const info = workflowInfo();
    this.ids = new TaskIds(input.execId, info.runId, info.startTime.getTime());
    setHandler(stateQuery, () => ({
      execId: input.execId,
      workflowId: input.def.id,
      status: this.status,
      paused: this.paused,
      running: [...this.running],
      tasks: { ...this.taskStatus },
    }));
    setHandler(deliverSignal, ({ name, payload }) => {
      this.inbox.push({
        payload,
        metadata: { signal_id: uuid4(), signal_name: name, workflow_id: input.def.id, workflow_exec_id: input.execId, received_at: new Date().toISOString() },
      });
    });
    setHandler(pauseSignal, () => {
      this.paused = true;
      this.forward(pauseSignal);
    });
    setHandler(resumeSignal, () => {
      this.paused = false;
      this.forward(resumeSignal);
    });
  }

  /** A batch that finishes as the signal is sent needs it no more. */
  private forward(signal: typeof pauseSignal | typeof resumeSignal): void {
    for (const handle of this.batchHandles) void handle.signal(signal).catch(() => undefined);
  }

  private get def() {
    return this.input.def;
  }

  async run(): Promise<RunResult> {
    const { def, execId } = this.input;
    try {
      let failure: ExecutionError | undefined = this.input.failure;
      let current: TaskDef | undefined = this.input.startTaskId === undefined ? def.tasks[0] : this.topLevel(this.input.startTaskId);
      if (this.input.startTaskId !== undefined && !current) failure = engineError('TASK_FAILED', `task "${this.input.startTaskId}" does not exist in workflow ${def.id}`);
      let nextWith: Record<string, unknown> | undefined = this.input.startWith;
      while (current) {
        const outcome = await this.runNode(current, { vars: {}, ...(nextWith ? { with: nextWith } : {}) }, 0);
        nextWith = undefined;
        if (failed(outcome) && outcome.next === undefined) {
          failure = { code: outcome.error?.code ?? 'TASK_FAILED', message: `task failed with no error transition defined: ${outcome.error?.message ?? outcome.taskId}` };
          break;
        }
        if (outcome.inline) {
          current = outcome.inline;
          continue;
        }
        if (outcome.next === undefined) break;
        nextWith = outcome.nextWith;
        current = this.topLevel(outcome.next);
        if (!current) {
          failure = engineError('TASK_FAILED', `task "${outcome.taskId}" names next task "${outcome.next}", which does not exist`);
          break;
        }
        if (workflowInfo().continueAsNewSuggested) {
          await continueAsNew<typeof compozyWorkflow>({ ...this.input, startTaskId: current.id, pendingSignals: this.inbox, ...(failure ? { failure } : {}), ...(nextWith ? { startWith: nextWith } : {}) });
        }
      }
      const result = await local.completeWorkflow({ execId, env: def.env, ...(def.outputs ? { outputs: def.outputs } : {}), ...(failure ? { failure } : {}) });
      this.status = result.status;
      if (result.status === 'FAILED') throw ApplicationFailure.create({ message: result.error?.message ?? 'workflow failed', type: 'CompozyWorkflowFailed', nonRetryable: true, details: [result] });
      return result;
    } catch (error) {
      if (isCancellation(error)) {
        await CancellationScope.nonCancellable(() => local.completeWorkflow({ execId, env: def.env, canceled: true }));
        this.status = 'CANCELED';
      }
      throw error;
    }
  }

  private topLevel(id: string): TaskDef | undefined {
    return this.def.tasks.find((t) => t.id === id);
  }

  private async gate(): Promise<void> {
    if (!this.paused) return;
    this.status = 'PAUSED';
    await local.markWorkflow(this.input.execId, 'PAUSED');
    await condition(() => !this.paused);
    this.status = 'RUNNING';
    await local.markWorkflow(this.input.execId, 'RUNNING');
  }

  private request<T extends TaskDef>(task: T, scope: TaskScope, taskExecId: string, maxAttempts = 1): TaskRequest<T> {
    return { execId: this.input.execId, workflowId: this.def.id, env: this.def.env, task, taskExecId, scope, maxAttempts };
  }

  async runNode(task: TaskDef, scope: TaskScope, depth: number, taskExecId = this.ids.next(task.id)): Promise<TaskOutcome> {
    await this.gate();
    if (task.sleepMs) await sleep(task.sleepMs);
    this.running.add(task.id);
    this.taskStatus[task.id] = 'RUNNING';
    try {
      const outcome = await this.dispatch(task, scope, depth, taskExecId);
      this.taskStatus[task.id] = outcome.status;
      return outcome;
    } finally {
      this.running.delete(task.id);
    }
  }

  private async dispatch(task: TaskDef, scope: TaskScope, depth: number, taskExecId: string): Promise<TaskOutcome> {
    switch (task.type) {
      case 'router':
        return local.routeTask(this.request(task, scope, taskExecId));
      case 'aggregate':
        return local.aggregateTask(this.request(task, scope, taskExecId));
      case 'parallel':
      case 'composite':
      case 'collection':
        return this.parent(this.request(task, scope, taskExecId), depth);
      case 'wait':
        return this.wait(this.request(task, scope, taskExecId), depth);
      default:
        return this.execute(task, scope, taskExecId);
    }
  }

  private async execute(task: ExecutingTaskDef, scope: TaskScope, taskExecId: string): Promise<TaskOutcome> {
    const attempts = task.activity.retry.maximumAttempts ?? DEFAULT_ATTEMPTS;
    const request = this.request(task, scope, taskExecId, attempts);
    try {
      return await executor(task, attempts)(request);
    } catch (error) {
      if (isCancellation(error)) throw error;
      // Out of attempts without the activity recording a result: timeouts, or workers that died.
      const timedOut = (error as { cause?: unknown }).cause instanceof TimeoutFailure;
      return local.recordTask(request, timedOut ? 'TIMED_OUT' : 'FAILED', engineError(timedOut ? 'TASK_TIMED_OUT' : 'TASK_FAILED', failureMessage(error)));
    }
  }

  private async parent(request: TaskRequest<ParallelTaskDef | CompositeTaskDef | CollectionTaskDef>, depth: number): Promise<TaskOutcome> {
    const { task } = request;
    if (depth + 1 > this.def.maxNestingDepth) {
      return local.recordTask(request, 'FAILED', engineError('NESTING_TOO_DEEP', `task "${task.id}" nests deeper than limits.max_nesting_depth (${this.def.maxNestingDepth})`));
    }
    let children: ChildList;
    let collection: { itemCount: number; skippedCount: number } | undefined;
    if (task.type === 'collection') {
      const expansion = await local.expandCollection({ ...request, task });
      if (!expansion.ok) return expansion.outcome;
      children = expansion.children;
      collection = { itemCount: expansion.itemCount, skippedCount: expansion.skippedCount };
    } else {
      const begun = await local.beginTask(request);
      if (failed(begun)) return begun;
      children = { templates: task.tasks, items: task.tasks.map((child, template) => ({ template, id: child.id })) };
    }
    const concurrency = task.type === 'composite' ? 1 : task.type === 'collection' && task.mode === 'sequential' ? Math.max(1, task.batch ?? 1) : task.maxWorkers && task.maxWorkers > 0 ? task.maxWorkers : children.items.length;
    const strategy: Strategy = task.type === 'composite' ? 'wait_all' : (task.strategy ?? 'wait_all');
    const results = await this.children(request, children, concurrency, strategy, task.type === 'composite', depth);
    return local.finishParent({ ...request, children: results, ...(collection ? { collection } : {}) });
  }

  /**
   * Runs children with at most `concurrency` in flight. fail_fast and race settle early: children in
   * flight are canceled and children not started are counted as canceled; a composite stops at its
   * first failure. More children than one batch holds run in batches, each in a child workflow.
   */
  private async children(request: TaskRequest, children: ChildList, concurrency: number, strategy: Strategy, stopOnFailure: boolean, depth: number, minted?: string[]): Promise<ChildResult[]> {
    const { items } = children;
    const ids = minted ?? items.map((child, i) => this.ids.next(`${request.taskExecId}/${i}:${child.id}`));
    if (items.length > BATCH_SIZE && !stopOnFailure && !settlesEarly(strategy) && !children.templates.some(waitsForSignals)) {
      return this.batches(request, children, ids, concurrency, strategy, depth);
    }
    const results: (ChildResult | undefined)[] = items.map(() => undefined);
    const parent = { id: request.task.id, taskExecId: request.taskExecId };
    const tally = { total: items.length, terminal: 0, success: 0, failed: 0 };
    let settled = false;
    let next = 0;
    const scope = new CancellationScope();
    const lane = async (): Promise<void> => {
      while (!settled && next < items.length) {
        const i = next++;
        const item = items[i] as ChildItem;
        const task = { ...(children.templates[item.template] as TaskDef), id: item.id };
        const childScope: TaskScope = { parent, vars: { ...request.scope.vars, ...item.vars } };
        let result: ChildResult;
        try {
          const outcome = await this.runNode(task, childScope, depth + 1, ids[i]);
          result = { taskExecId: outcome.taskExecId, taskId: outcome.taskId, status: outcome.status, ...(outcome.error ? { error: outcome.error } : {}) };
        } catch (error) {
          if (!(settled && isCancellation(error))) throw error;
          const canceled = await CancellationScope.nonCancellable(() => local.recordTask(this.request(task, childScope, ids[i] as string), 'CANCELED'));
          result = { taskExecId: canceled.taskExecId, taskId: canceled.taskId, status: 'CANCELED' };
        }
        results[i] = result;
        tally.terminal++;
        if (result.status === 'SUCCESS') tally.success++;
        if (result.status === 'FAILED' || result.status === 'TIMED_OUT') tally.failed++;
        if (!settled && (settledEarly(tally, strategy) || (stopOnFailure && result.status !== 'SUCCESS'))) {
          settled = true;
          scope.cancel();
        }
      }
    };
    await scope.run(() => Promise.all(Array.from({ length: Math.min(concurrency, items.length, MAX_IN_FLIGHT_CHILDREN) }, lane)));
    return items.map((child, i) => results[i] ?? { taskExecId: ids[i] as string, taskId: child.id, status: 'CANCELED' });
  }

  /**
   * A large parent's children in batches of BATCH_SIZE, each batch a child workflow with its own
   * history, so the parent's history grows per batch, not per child. The children in flight over all
   * batches stay within `concurrency` and MAX_IN_FLIGHT_CHILDREN, as for a small parent: up to
   * MAX_BATCHES_IN_FLIGHT batches share them (a sequential collection runs one batch at a time, in
   * order). Only for strategies that run every child (wait_all, best_effort): nothing has to settle
   * across batches.
   */
  private async batches(request: TaskRequest, children: ChildList, ids: string[], concurrency: number, strategy: Strategy, depth: number): Promise<ChildResult[]> {
    const inFlight = Math.max(1, Math.min(concurrency, children.items.length, MAX_IN_FLIGHT_CHILDREN));
    const count = Math.ceil(children.items.length / BATCH_SIZE);
    const ordered = request.task.type === 'collection' && request.task.mode === 'sequential';
    const lanes = ordered ? 1 : Math.min(count, MAX_BATCHES_IN_FLIGHT, inFlight);
    const results: ChildResult[][] = [];
    const def = { ...this.def, tasks: [] };
    let next = 0;
    const lane = async (laneIndex: number): Promise<void> => {
      const perBatch = Math.floor(inFlight / lanes) + (laneIndex < inFlight % lanes ? 1 : 0);
      while (next < count) {
        const k = next++;
        const slice = { from: k * BATCH_SIZE, to: Math.min(children.items.length, (k + 1) * BATCH_SIZE) };
        const input: BatchInput = {
          def,
          execId: this.input.execId,
          request,
          children: { templates: children.templates, items: children.items.slice(slice.from, slice.to) },
          ids: ids.slice(slice.from, slice.to),
          concurrency: perBatch,
          strategy,
          depth,
          paused: this.paused,
        };
        const handle = await startChild(compozyBatch, { workflowId: `${this.input.execId}-${request.taskExecId}-batch-${k}`, args: [input] });
        this.batchHandles.add(handle);
        try {
          results[k] = await handle.result();
        } finally {
          this.batchHandles.delete(handle);
        }
      }
    };
    await Promise.all(Array.from({ length: lanes }, (_, laneIndex) => lane(laneIndex)));
    return results.flat();
  }

  /** Runs one batch of a parent's children (compozyBatch). */
  async batch(input: BatchInput): Promise<ChildResult[]> {
    this.paused = input.paused;
    return this.children(input.request, input.children, input.concurrency, input.strategy, false, input.depth, input.ids);
  }

  private async wait(request: TaskRequest<WaitTaskDef>, depth: number): Promise<TaskOutcome> {
    const { task, execId } = request;
    const begun = await local.beginTask(request);
    if (failed(begun)) return begun;
    this.status = 'PAUSED';
    await local.markWorkflow(execId, 'PAUSED');
    // No timeout: it waits until a signal meets the condition (reference engine/task/config.go: timeout is optional).
    const deadline = task.timeoutMs === undefined ? undefined : Date.now() + task.timeoutMs;
    const matches = (s: SignalEnvelope) => s.metadata.signal_name === task.waitFor;
    for (;;) {
      const remaining = deadline === undefined ? undefined : deadline - Date.now();
      const arrived = remaining === undefined ? (await condition(() => this.inbox.some(matches)), true) : remaining > 0 && (await condition(() => this.inbox.some(matches), remaining));
      if (!arrived) {
        const { outcome } = await local.settleWait({ ...request, timedOut: true });
        this.status = 'RUNNING';
        return outcome as TaskOutcome;
      }
      const signal = this.inbox.splice(this.inbox.findIndex(matches), 1)[0] as SignalEnvelope;
      let processorExecId: string | undefined;
      if (task.processor) {
        const processed = await this.runNode(task.processor, { parent: { id: task.id, taskExecId: request.taskExecId }, vars: { ...request.scope.vars, signal } }, depth + 1, this.ids.next(`${request.taskExecId}/processor`));
        processorExecId = processed.taskExecId;
      }
      const settled = await local.settleWait({ ...request, signal, ...(processorExecId ? { processorExecId } : {}) });
      if (settled.settled) {
        this.status = 'RUNNING';
        return settled.outcome as TaskOutcome;
      }
    }
  }
}

/**
 * Runs one Compozy workflow definition: the first task (or `startTaskId`), then `on_success.next`,
 * `on_error.next` or a router's route, until no next remains (reference §2.1). Every side effect and
 * every template runs in an activity; this function only decides what runs next.
 */
export async function compozyWorkflow(input: RunInput): Promise<RunResult> {
  return new Interpreter(input).run();
}

/** One batch of a large parent's children, in its own history (see Interpreter.batches). */
export async function compozyBatch(input: BatchInput): Promise<ChildResult[]> {
  return new Interpreter({ def: input.def, execId: input.execId }).batch(input);
}
