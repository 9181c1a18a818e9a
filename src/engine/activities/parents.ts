import { tasksView } from '../context.js';
import { progressInfo } from '../progress.js';
import type { ChildResult, Expansion, FinishParentRequest, TaskRequest } from '../protocol.js';
import { expandItems, type CollectionTaskDef } from '../tasks/collection.js';
import { engineError, isFailed, toExecutionError } from './outcome.js';
import type { TaskRuntime } from './task-runtime.js';

/** Parent tasks (parallel, composite, collection): a collection's expansion into children, and the parent's result once they ran. */
export class Parents {
  constructor(private readonly rt: TaskRuntime) {}

  async expandCollection(request: TaskRequest<CollectionTaskDef>): Promise<Expansion> {
    const { ctx } = await this.rt.load(request);
    let input: Record<string, unknown> | null = null;
    try {
      input = this.rt.renderInput(request, ctx);
      const expansion = expandItems(request.task, { ...ctx, input, with: input }, this.rt);
      await this.rt.write(request, 'RUNNING', { input });
      return { ok: true, ...expansion };
    } catch (error) {
      return { ok: false, outcome: await this.rt.finish(request, ctx, { input, error: toExecutionError(error) }) };
    }
  }

  async finishParent(request: FinishParentRequest) {
    const { ctx, own, children: states } = await this.rt.load(request, { own: true, children: true });
    const byExecId = new Map(states.map((s) => [s.taskExecId, s]));
    const strategy = 'strategy' in request.task ? request.task.strategy : undefined;
    const info = progressInfo(request.children.map((c) => c.status), strategy ?? 'wait_all');
    const outputs: Record<string, unknown> = {};
    for (const child of request.children) outputs[child.taskId] = byExecId.get(child.taskExecId)?.output ?? null;
    const raw: Record<string, unknown> = { progress_info: info, outputs };
    if (request.collection) raw.collection_metadata = { item_count: request.collection.itemCount, skipped_count: request.collection.skippedCount };
    const input = own?.input ?? {};
    // No children (an empty or fully filtered collection) is nothing to wait for, not a failure.
    if (request.children.length > 0 && info.overall_status !== 'SUCCESS') {
      return this.rt.finish(request, ctx, { input, raw, error: engineError('child_task_failure', parentFailure(request.task.type, info, request.children)) });
    }
    const children = own ? (tasksView([own, ...states])[request.task.id]?.children ?? {}) : {};
    return this.rt.finish(request, ctx, { input, raw, outputsVars: { output: outputs, children } });
  }
}

function parentFailure(type: string, info: ReturnType<typeof progressInfo>, children: readonly ChildResult[]): string {
  const counts = Object.entries(info.status_counts).map(([k, v]) => `${k}:${v}`).join(',');
  const failed = children.filter((c) => isFailed(c.status)).map((c) => `task[${c.taskId}]: ${c.error?.message ?? c.status}`);
  return (
    `${type} task failed: success=${info.success_count}, failed=${info.failed_count}, canceled=${info.canceled_count}, timed_out=${info.timed_out_count}, ` +
    `terminal=${info.terminal_count}/${info.total_children}, status_counts=${counts}` + (failed.length > 0 ? ` | Failed tasks: [${failed.join('; ')}]` : '')
  );
}
