import { CancellationScope, ParentClosePolicy, proxyLocalActivities, startChild } from '@temporalio/workflow';
import { encodeKsuid } from '../../store/ksuid-encode.js';
import type { EngineActivityFunctions } from '../activities/engine-activities.js';
import type { ScheduledRunRequest } from '../protocol.js';
import { compozyWorkflow } from './interpreter.js';

const local = proxyLocalActivities<EngineActivityFunctions>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds', maximumAttempts: 10 },
});

/**
 * What a Temporal Schedule of the project starts at each fire time (triggers/schedules.ts). It makes
 * the run a normal execution: an execution id (a KSUID from the workflow's deterministic clock and
 * random source, so a replay mints the same one), the execution record in the store (as the API's
 * start writes it), then the interpreter as a child workflow whose Temporal id is that execution id —
 * so the run is listed, inspected, paused and canceled like any other. It waits for the run, so the
 * schedule's overlap policy sees the run as running: skip and buffer_one wait for it, cancel_other
 * cancels this workflow, and the cancellation reaches the run.
 */
export async function compozyScheduledRun(request: ScheduledRunRequest): Promise<void> {
  const random = Array.from({ length: 16 }, () => Math.floor(Math.random() * 256));
  const execId = encodeKsuid(Date.now(), random);
  const run = await local.openScheduledRun({ ...request, execId });
  if (!run) return;
  // Abandoned rather than terminated if this workflow is: the run then still ends and records its end.
  const child = await startChild(compozyWorkflow, { workflowId: execId, args: [run], parentClosePolicy: ParentClosePolicy.ABANDON });
  try {
    await child.result();
  } catch (error) {
    // The run's failure or cancellation is in its own record; only this workflow's own cancellation goes on.
    if (CancellationScope.current().consideredCancelled) throw error;
  }
}
