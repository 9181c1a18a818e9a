import type { AppSettings } from '../config/settings.js';
import type { ProjectConfig } from '../config/types.js';
import type { ExecutionEvent } from '../engine/observer.js';
import { CompozyError, errorMessage } from '../errors.js';
import { EngineProcess } from '../server/process-handle.js';
import { EngineRuntime, type RuntimeOverrides } from '../server/runtime.js';
import { taskQueuePolled } from '../temporal/probes.js';
import { installTemporalLogging, type RunningWorker } from '../temporal/worker.js';
import type { TemporalServer } from './embedded-temporal.js';

export interface LocalPlatformOptions {
  config: ProjectConfig;
  settings: AppSettings;
  stateDir: string;
  /** Run a Temporal worker in this process (otherwise executions wait for another worker on the task queue). */
  worker: boolean;
  /** Starts the Temporal server when the settings name none (standalone mode). */
  startTemporal: () => Promise<TemporalServer>;
  log: (line: string) => void;
  onEvent: (event: ExecutionEvent) => void;
  /** Adapters instead of the configured ones (the test harness's scripted tools and models). */
  overrides?: RuntimeOverrides;
}

export interface LocalPlatform {
  runtime: EngineRuntime;
  temporalAddress: string;
  /** How the Temporal row describes its backend. */
  temporalBackend: string;
  /** Undefined when this process runs no worker. */
  worker: RunningWorker | undefined;
  close(): Promise<void>;
}

/**
 * The Temporal SDK's logs through `log`, unless the SDK already has its runtime: a program that
 * configured its own Temporal Runtime keeps it.
 */
function routeTemporalLogs(log: (line: string) => void): void {
  try {
    installTemporalLogging(log, false);
  } catch (error) {
    if ((error as Error).name !== 'IllegalStateError') throw error;
  }
}

/**
 * The platform in this process, on the runtime's composition root: the Temporal dev server when the
 * settings name no Temporal, the EngineRuntime (KV, store, tools, agents, events) and its worker.
 */
export async function openLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const { config, log } = options;
  routeTemporalLogs(log);
  let settings = options.settings;
  let embedded: TemporalServer | undefined;
  if (!settings.temporalAddress.value) {
    if (settings.mode.value !== 'standalone') {
      throw new CompozyError('USAGE', `Distributed mode needs a Temporal address (mode from ${settings.mode.origin}).`, {
        hint: 'Set temporal.address in the options (or TEMPORAL_ADDRESS); standalone mode starts an embedded Temporal.',
      });
    }
    embedded = await options.startTemporal();
    settings = { ...settings, temporalAddress: { value: embedded.address, source: 'default', origin: 'embedded Temporal dev server' } };
  }
  const address = settings.temporalAddress.value as string;
  let engine: EngineProcess | undefined;
  let runtime: EngineRuntime;
  try {
    runtime = await EngineRuntime.open(
      {
        project: config,
        stateDir: options.stateDir,
        settings,
        log,
        observer: options.onEvent,
        runsTasks: options.worker,
        workerAvailable: async () =>
          options.worker ? (engine?.polling() ?? false) : taskQueuePolled(runtime.connection, settings.temporalNamespace.value, settings.taskQueue.value).catch(() => false),
      },
      options.overrides,
    );
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const running = new EngineProcess(runtime, embedded ? { back: { name: 'temporal dev server', close: () => embedded.stop() } } : {});
  engine = running;
  running.stopped.catch((error: unknown) => log(`worker stopped: ${errorMessage(error)}`));
  if (options.worker) {
    try {
      await running.startWorker();
    } catch (error) {
      await running.stop().catch(() => undefined);
      throw error;
    }
  }
  let closing: Promise<void> | undefined;
  return {
    runtime,
    temporalAddress: address,
    temporalBackend: embedded?.backend ?? 'external',
    worker: running.worker,
    close() {
      closing ??= running.stop();
      return closing;
    },
  };
}
