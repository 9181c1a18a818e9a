import type { AppSettings } from '../config/settings.js';
import type { ProjectConfig } from '../config/types.js';
import { CompozyError, errorMessage } from '../errors.js';
import type { ProcessEvent } from '../server/events.js';
import { EngineProcess, type ProcessHandle } from '../server/process-handle.js';
import { EngineRuntime, type RuntimeOverrides } from '../server/runtime.js';
import { apiServer, listenApi, type HttpOptions } from '../server/serve.js';
import { taskQueuePolled } from '../temporal/probes.js';
import { installTemporalLogging } from '../temporal/worker.js';
import type { TemporalServer } from './embedded-temporal.js';

export type { HttpOptions } from '../server/serve.js';

export interface PlatformOptions {
  /** The project's validated configuration, or its folder. */
  project: ProjectConfig | string;
  projectName: string;
  /** The effective settings: mode, Temporal, backends, limits. */
  settings: AppSettings;
  /** Where the SQLite KV and store live. */
  stateDir: string;
  /** Run a Temporal worker in this process; otherwise executions wait for another worker on the task queue. */
  worker: boolean;
  /**
   * Resolve once the worker polls (default). false starts it behind the HTTP API, whose /readyz says
   * why it is not ready yet; a failure to start then rejects `stopped`.
   */
  awaitWorker?: boolean;
  /** Serve the HTTP API (what `compozy serve` is); without it, no port is opened. */
  http?: HttpOptions | undefined;
  /** Starts the Temporal server when the settings name none (standalone mode only); without it an address is required. */
  startTemporal?: () => Promise<TemporalServer>;
  /** How the Temporal row describes a Temporal this process did not start (default "external"). */
  temporalBackend?: string | undefined;
  /** The per-run nonce of the supervisor that started this process, answered on /readyz. */
  nonce?: string | undefined;
  /** The supervisor that started this process (its run state describes this process in health). */
  supervisorPid?: number | undefined;
  /** The Temporal SDK at INFO, with its metadata. */
  verbose?: boolean;
  log: (line: string) => void;
  /** Execution events of this process's worker, and `listening`. */
  emit: (event: ProcessEvent) => void;
  /** Adapters instead of the configured ones (the test harness's scripted tools and models). */
  overrides?: RuntimeOverrides;
}

/** A running platform: the runtime, whether this process runs its worker, the API when it serves one. */
export interface Platform extends ProcessHandle {
  runtime: EngineRuntime;
  /** Whether this process runs a worker. */
  runsWorker: boolean;
  /** Where the HTTP API listens, when it serves one. */
  http: { url: string; port: number } | undefined;
}

/**
 * The Temporal SDK's logs through `log`, unless the SDK already has its runtime: a program that
 * configured its own Temporal Runtime keeps it.
 */
function routeTemporalLogs(log: (line: string) => void, verbose: boolean): void {
  try {
    installTemporalLogging(log, verbose);
  } catch (error) {
    if ((error as Error).name !== 'IllegalStateError') throw error;
  }
}

/**
 * The composition root every way of running the platform goes through (`compozy serve`, `compozy
 * worker`, createCompozy, compozy/testing): from settings to a running platform. The Temporal dev
 * server when the settings name no Temporal, the EngineRuntime (KV, store, tools, agents, memory,
 * events), the HTTP API when asked for, and the worker; stop() closes them in the reverse order,
 * every step even when one fails.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const { log } = options;
  routeTemporalLogs(log, options.verbose ?? false);
  let settings = options.settings;
  let embedded: TemporalServer | undefined;
  if (!settings.temporalAddress.value && options.startTemporal) {
    if (settings.temporalMode.value === 'remote') {
      throw new CompozyError('USAGE', `Temporal mode remote needs a Temporal address (from ${settings.temporalMode.source === 'default' ? `mode ${settings.mode.value}, ${settings.mode.origin}` : settings.temporalMode.origin}).`, {
        hint: 'Set temporal.address in the options (or TEMPORAL_ADDRESS); standalone mode starts an embedded Temporal.',
      });
    }
    embedded = await options.startTemporal();
    settings = { ...settings, temporalAddress: { value: embedded.address, source: 'default', origin: 'embedded Temporal dev server' } };
  }
  const temporalBackend = embedded?.backend ?? options.temporalBackend ?? 'external';
  const inProcess = options.worker;
  let engine: EngineProcess | undefined;
  let runtime: EngineRuntime;
  try {
    runtime = await EngineRuntime.open(
      {
        project: options.project,
        stateDir: options.stateDir,
        settings,
        log,
        observer: options.emit,
        runsTasks: inProcess,
        workerAvailable: async () => (inProcess ? (engine?.polling() ?? false) : taskQueuePolled(runtime.connection, runtime.temporal.namespace, runtime.temporal.taskQueue).catch(() => false)),
      },
      options.overrides,
    );
  } catch (error) {
    await embedded?.stop().catch((stopError: unknown) => log(`stopping: temporal dev server failed: ${errorMessage(stopError)}`));
    throw error;
  }
  const { http } = options;
  const app = http
    ? apiServer(runtime, {
        projectName: options.projectName,
        stateDir: options.stateDir,
        settings,
        http,
        temporalBackend,
        inProcess,
        process: () => engine,
        nonce: options.nonce,
        supervisorPid: options.supervisorPid,
        log,
      })
    : undefined;
  const running = new EngineProcess(runtime, {
    ...(app ? { front: { name: 'http server', close: () => app.close() } } : {}),
    ...(embedded ? { back: { name: 'temporal dev server', close: () => (embedded as TemporalServer).stop() } } : {}),
  });
  engine = running;
  // The failure to start is what the caller sees; a step that fails to close after it is logged.
  const abandon = async (error: unknown): Promise<never> => {
    await running.stop().catch(() => undefined);
    throw error;
  };
  // The worker connects and its threads load the workflow bundle while the HTTP server loads its routes
  // and binds (those waits are off this thread); its failure to start rejects `stopped` either way.
  const started = inProcess ? running.startWorker() : undefined;
  started?.catch(() => undefined);
  let listening: Platform['http'];
  if (app && http) {
    try {
      const bound = await listenApi(app, http);
      listening = { url: bound.url, port: bound.port };
      options.emit({ event: 'listening', url: bound.url, host: bound.host, port: bound.port, requestedPort: http.port, pid: process.pid });
    } catch (error) {
      return abandon(error);
    }
  }
  if (started && options.awaitWorker !== false) await started.catch(abandon);
  return {
    runtime,
    runsWorker: inProcess,
    http: listening,
    stop: () => running.stop(),
    stopped: running.stopped,
  };
}
