import type { ExecutionError, Status } from '../../store/store.js';
import type { ExecutingTaskDef } from '../definition.js';
import type { EngineDeps } from '../executors.js';
import type { CompleteWorkflowRequest, FinishParentRequest, ScheduledRunRequest, SettleWaitRequest, TaskRequest } from '../protocol.js';
import type { AggregateTaskDef } from '../tasks/aggregate.js';
import type { CollectionTaskDef } from '../tasks/collection.js';
import type { RouterTaskDef } from '../tasks/router.js';
import type { WaitTaskDef } from '../tasks/wait.js';
import type { EngineActivityName } from './names.js';
import { Parents } from './parents.js';
import { ScheduledRuns } from './scheduled-runs.js';
import { TaskExecution } from './task-execution.js';
import { TaskRuntime } from './task-runtime.js';
import { Waits } from './waits.js';
import { WorkflowCompletion } from './workflow-completion.js';

export type { EngineDeps };

/** The engine's activities, by role: task execution, parents, waits and workflow completion, over one shared task runtime. */
export class EngineActivities {
  private readonly rt: TaskRuntime;
  private readonly tasks: TaskExecution;
  private readonly parents: Parents;
  private readonly waits: Waits;
  private readonly completion: WorkflowCompletion;
  private readonly scheduled: ScheduledRuns;

  constructor(deps: EngineDeps) {
    this.rt = new TaskRuntime(deps);
    this.tasks = new TaskExecution(this.rt);
    this.parents = new Parents(this.rt);
    this.waits = new Waits(this.rt);
    this.completion = new WorkflowCompletion(this.rt);
    this.scheduled = new ScheduledRuns(deps.store, deps.workflows ?? new Map());
  }

  /**
   * The activity functions Temporal registers, bound to this instance. Every result goes into
   * Temporal's history, so each one passes through `carried`: what cannot be carried fails its task.
   * Exactly the names of ENGINE_ACTIVITY_NAMES (the `satisfies` refuses a missing or an extra one).
   */
  functions() {
    const { rt, tasks, parents, waits, completion, scheduled } = this;
    return {
      executeTask: async (r: TaskRequest<ExecutingTaskDef>) => rt.carried(r, await tasks.executeTask(r)),
      beginTask: async (r: TaskRequest) => rt.carried(r, await tasks.beginTask(r)),
      recordTask: async (r: TaskRequest, status: Status, error?: ExecutionError) => rt.carried(r, await tasks.recordTask(r, status, error)),
      routeTask: async (r: TaskRequest<RouterTaskDef>) => rt.carried(r, await tasks.routeTask(r)),
      aggregateTask: async (r: TaskRequest<AggregateTaskDef>) => rt.carried(r, await tasks.aggregateTask(r)),
      expandCollection: async (r: TaskRequest<CollectionTaskDef>) => rt.carriedExpansion(r, await parents.expandCollection(r)),
      finishParent: async (r: FinishParentRequest) => rt.carried(r, await parents.finishParent(r)),
      settleWait: async (r: SettleWaitRequest<WaitTaskDef>) => {
        const settled = await waits.settleWait(r);
        return settled.outcome ? { ...settled, outcome: await rt.carried(r, settled.outcome) } : settled;
      },
      markWorkflow: (execId: string, status: Status) => completion.markWorkflow(execId, status),
      completeWorkflow: (r: CompleteWorkflowRequest) => completion.completeWorkflow(r),
      openScheduledRun: (r: ScheduledRunRequest & { execId: string }) => scheduled.open(r),
    } satisfies Record<EngineActivityName, (...args: never[]) => Promise<unknown>>;
  }
}

export type EngineActivityFunctions = ReturnType<EngineActivities['functions']>;
