import { errorMessage } from '../../errors.js';
import type { SettleWaitRequest, TaskOutcome } from '../protocol.js';
import { conditionMet, waitTimeoutError, type WaitTaskDef } from '../tasks/wait.js';
import { engineError } from './outcome.js';
import type { FinishOptions, TaskRuntime } from './task-runtime.js';

export interface Settled {
  settled: boolean;
  outcome?: TaskOutcome;
}

/** Wait tasks: each signal that arrives (after its processor ran) or the timeout either settles the wait or keeps it waiting. */
export class Waits {
  constructor(private readonly rt: TaskRuntime) {}

  async settleWait(request: SettleWaitRequest<WaitTaskDef>): Promise<Settled> {
    const { ctx, own, processor: processorState } = await this.rt.load(request, { own: true, ...(request.processorExecId ? { processorExecId: request.processorExecId } : {}) });
    const input = own?.input ?? {};
    const { task } = request;
    const settle = async (options: FinishOptions, next?: string): Promise<Settled> => {
      await this.rt.deps.store.updateWorkflowExecution(request.execId, { status: 'RUNNING' });
      const outcome = await this.rt.finish(request, ctx, options);
      return { settled: true, outcome: next && outcome.status !== 'SUCCESS' ? { ...outcome, next } : outcome };
    };
    if (request.timedOut) return settle({ input, error: waitTimeoutError(task) }, task.onTimeout);
    const processor = { output: processorState?.output ?? null, error: processorState?.error ?? null };
    if (processor.error) return settle({ input, error: engineError('WAIT_TASK_ERROR', `wait processor failed: ${processor.error.message}`) });
    let met: boolean;
    try {
      met = conditionMet(task, { ...ctx, input }, request.signal ?? null, processor);
    } catch (error) {
      return settle({ input, error: engineError('WAIT_TASK_ERROR', errorMessage(error)) });
    }
    if (!met) return { settled: false };
    return settle({ input, raw: { wait_status: 'completed', signal: request.signal ?? null, processor_output: processor } });
  }
}
