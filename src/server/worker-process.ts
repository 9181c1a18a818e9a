import { installTemporalLogging } from '../temporal/worker.js';
import { EngineProcess, type ProcessHandle } from './process-handle.js';
import { EngineRuntime, type RuntimeContext, type RuntimeOverrides } from './runtime.js';

/** A worker process is the worker that answers for its own availability. */
export type WorkerProcessOptions = Omit<RuntimeContext, 'workerAvailable'> & { verbose?: boolean; overrides?: RuntimeOverrides };

/**
 * `compozy worker`: the engine runtime and a Temporal worker, no HTTP. Several can poll one task queue;
 * each also consumes events and starts their workflows. Resolves once the worker polls.
 */
export async function runWorkerProcess(options: WorkerProcessOptions): Promise<ProcessHandle> {
  installTemporalLogging(options.log, options.verbose ?? false);
  let engine: EngineProcess | undefined;
  const runtime = await EngineRuntime.open({ ...options, workerAvailable: async () => engine?.polling() ?? false }, options.overrides);
  engine = new EngineProcess(runtime);
  try {
    await engine.startWorker();
  } catch (error) {
    // The failure to start is what the caller sees; a close that fails after it is logged.
    await engine.stop().catch(() => undefined);
    throw error;
  }
  return engine;
}
