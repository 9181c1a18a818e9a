import { installTemporalLogging, type RunningWorker } from '../temporal/worker.js';
import { EngineRuntime, type RuntimeContext, type RuntimeOverrides } from './runtime.js';

/** A worker process is the worker that answers for its own availability. */
export type WorkerProcessOptions = Omit<RuntimeContext, 'workerAvailable'> & { verbose?: boolean; overrides?: RuntimeOverrides };

/**
 * `compozy worker`: the engine runtime and a Temporal worker, no HTTP. Several can poll one task queue;
 * each also consumes events and starts their workflows.
 */
export async function runWorkerProcess(options: WorkerProcessOptions): Promise<{ worker: RunningWorker; stop(): Promise<void> }> {
  installTemporalLogging(options.log, options.verbose ?? false);
  let worker: RunningWorker | undefined;
  const abort = new AbortController();
  const runtime = await EngineRuntime.open({ ...options, workerAvailable: async () => worker?.state() === 'RUNNING' }, options.overrides);
  try {
    worker = await runtime.startWorker(abort.signal);
  } catch (error) {
    await runtime.close();
    throw error;
  }
  const running = worker;
  let stopping: Promise<void> | undefined;
  return {
    worker: running,
    stop() {
      stopping ??= (async () => {
        abort.abort(new Error('worker is stopping'));
        // The tools first: a call stuck in a tool would otherwise hold the worker's shutdown.
        await Promise.all([runtime.stopTools(2000), running.shutdown()]);
        await runtime.close();
      })();
      return stopping;
    },
  };
}
