// A CommonJS package whose names Node's ESM loader cannot see: the namespace comes from its default export.
import proto, { type temporal } from '@temporalio/proto';
import { errorMessage } from '../errors.js';

/** What the probes need of a connection: the client's `Connection` and the worker's `NativeConnection` both have it. */
export interface WorkflowServiceConnection {
  readonly workflowService: temporal.api.workflowservice.v1.WorkflowService;
  withDeadline<R>(deadline: number | Date, fn: () => Promise<R>): Promise<R>;
}

/** A worker that polled within this window counts as polling (Temporal keeps a poller for about a minute). */
const POLLED_WITHIN_MS = 60_000;

/** Throws unless the namespace exists on the server within timeoutMs. */
export async function describeNamespace(connection: WorkflowServiceConnection, namespace: string, timeoutMs: number): Promise<void> {
  await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.describeNamespace({ namespace }));
}

/** Whether some worker polled the workflow task queue in the last minute (for an API that runs no worker itself). */
export async function taskQueuePolled(connection: WorkflowServiceConnection, namespace: string, taskQueue: string, timeoutMs = 2000): Promise<boolean> {
  const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;
  const response = await connection.withDeadline(Date.now() + timeoutMs, () =>
    connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    }),
  );
  const recent = Date.now() - POLLED_WITHIN_MS;
  return (response.pollers ?? []).some((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000 >= recent);
}

/** The namespace check as a probe result: up with the namespace named, or down with the first line of the reason. */
export async function probeNamespace(connection: WorkflowServiceConnection, namespace: string, timeoutMs = 1000): Promise<{ ok: boolean; detail: string }> {
  try {
    await describeNamespace(connection, namespace, timeoutMs);
    return { ok: true, detail: `namespace ${namespace}` };
  } catch (error) {
    return { ok: false, detail: errorMessage(error).split('\n')[0] ?? 'unreachable' };
  }
}
