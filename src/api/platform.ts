import type { FastifyInstance } from 'fastify';
import type { AppSettings } from '../config/settings.js';
import type { ProjectConfig } from '../config/types.js';
import { CompozyError } from '../errors.js';
import type { ProcessEvent } from '../server/events.js';
import { ENGINE_ACTIVITY_NAMES } from '../engine/activities/names.js';
import { EngineProcess, type ProcessHandle } from '../server/process-handle.js';
import type { EngineRuntime, RuntimeOverrides } from '../server/runtime.js';
import { shutDown, type ShutdownStep } from '../platform/shutdown.js';
import type { HttpOptions } from '../server/serve.js';
import { installTemporalLogging, prepareWorkflows, type PreparedWorkflows } from '../temporal/worker.js';
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
  /** Gives up the start-up (a signal, the Temporal it waits for gone): what was started stops, and the start rejects with the abort's reason. */
  abort?: AbortSignal;
}

/** A running platform: the runtime, whether this process runs its worker, the API when it serves one. */
export interface Platform extends ProcessHandle {
  /** The runtime of the project as last (re)loaded. */
  readonly runtime: EngineRuntime;
  /** Whether this process runs a worker. */
  runsWorker: boolean;
  /** Where the HTTP API listens, when it serves one. */
  http: { url: string; port: number } | undefined;
  /**
   * Runs `project` (validated by the caller) from now on, without stopping Temporal, the backends or
   * the API's socket: a runtime over it (tools, agents, memories, events) and its worker start; once
   * the worker polls, new requests and executions go to it; then the previous runtime retires (its
   * worker finishes the activities in flight, its tools close last). Reloads run one at a time.
   */
  reload(project: ProjectConfig): Promise<void>;
}

/** One loaded version of the project: its runtime, its app, and the process state of its worker. */
interface Generation {
  runtime: EngineRuntime;
  app: FastifyInstance | undefined;
  process: EngineProcess;
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
 * server when the settings name no Temporal, the KV and the store, the EngineRuntime over the project
 * (tools, agents, memory, events), the HTTP API when asked for, and the worker; stop() closes them in
 * the reverse order, every step even when one fails.
 *
 * What a reload replaces is everything built from the project; what it keeps is what executions
 * and clients hold on to: Temporal, the KV and the store, the API's port. A running execution keeps its
 * workflow definition, which is its own input in Temporal's history (RunInput.def), so it finishes on
 * the version it started with; agents and tools are looked up by id when a task runs.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const { log, overrides = {} } = options;
  routeTemporalLogs(log, options.verbose ?? false);
  // The first worker's workflow thread loads its bundle from now on, beside the engine's own loading
  // and opening on this thread (the engine's modules load below, after it started).
  const workflows: PreparedWorkflows | undefined = options.worker
    ? prepareWorkflows({ namespace: options.settings.temporalNamespace.value, taskQueue: options.settings.taskQueue.value }, ENGINE_ACTIVITY_NAMES)
    : undefined;
  try {
    await workflows?.started;
    return await startPreparedPlatform(options, log, overrides, workflows);
  } catch (error) {
    await workflows?.discard();
    throw error;
  }
}

async function startPreparedPlatform(options: PlatformOptions, log: (line: string) => void, overrides: RuntimeOverrides, workflows: PreparedWorkflows | undefined): Promise<Platform> {
  const [{ EngineRuntime }, { openKv }, { openStore }, { taskQueuePolled }] = await Promise.all([
    import('../server/runtime.js'),
    import('../server/open-kv.js'),
    import('../server/open-store.js'),
    import('../temporal/probes.js'),
  ]);
  // The HTTP layer (Fastify, the routes, their schemas) loads only for a platform that serves the API.
  const httpLayer = options.http
    ? await Promise.all([import('../server/http-front.js'), import('../server/serve.js')]).then(([{ HttpFront }, { apiServer, listenApi }]) => ({ HttpFront, apiServer, listenApi }))
    : undefined;
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
  // The backends every version of the project shares, closed after the last of them.
  const backends: ShutdownStep[] = [];
  const temporal: ShutdownStep[] = embedded ? [{ name: 'temporal dev server', close: () => (embedded as TemporalServer).stop() }] : [];
  let shared: RuntimeOverrides;
  try {
    const kv = overrides.kv ?? (await openKv(settings, options.stateDir));
    if (!overrides.kv) backends.push({ name: 'kv', close: () => kv.close() });
    const store = overrides.store ?? (await openStore(settings, options.stateDir));
    if (!overrides.store) backends.push({ name: 'store', close: () => store.close() });
    shared = { ...overrides, kv, store };
  } catch (error) {
    await shutDown([...backends, ...temporal], log).catch(() => undefined);
    throw error;
  }
  const retiring = new Set<Promise<void>>();
  const back: ShutdownStep[] = [{ name: 'previous project versions', close: async () => void (await Promise.all(retiring)) }, ...backends, ...temporal];
  const front = httpLayer ? new httpLayer.HttpFront() : undefined;
  let current: Generation | undefined;
  let reloaded: { count: number; at: Date } | undefined;

  const openRuntime = async (project: ProjectConfig | string): Promise<EngineRuntime> => {
    const runtime: EngineRuntime = await EngineRuntime.open(
      {
        project,
        stateDir: options.stateDir,
        settings,
        log,
        observer: options.emit,
        runsTasks: inProcess,
        workerAvailable: async () => (inProcess ? (current?.process.polling() ?? false) : taskQueuePolled(runtime.connection, runtime.temporal.namespace, runtime.temporal.taskQueue).catch(() => false)),
      },
      shared,
    );
    return runtime;
  };
  const build = (runtime: EngineRuntime): Generation => {
    const { http } = options;
    const app =
      front && http && httpLayer
        ? httpLayer.apiServer(
            runtime,
            { projectName: options.projectName, stateDir: options.stateDir, settings, http, temporalBackend, inProcess, process: () => current?.process, nonce: options.nonce, supervisorPid: options.supervisorPid, reloads: () => reloaded, log },
            front,
          )
        : undefined;
    const process = new EngineProcess(runtime, {
      ...(front && app ? { front: { name: 'http server', close: async () => void (await Promise.all([app.close(), front.close()])) } } : {}),
      back,
    });
    return { runtime, app, process };
  };

  let resolveStopped!: () => void;
  let rejectStopped!: (error: unknown) => void;
  const stopped = new Promise<void>((resolve, reject) => {
    resolveStopped = resolve;
    rejectStopped = reject;
  });
  stopped.catch(() => undefined);
  // The platform stops when its current version does; a retired one settling is not a stop.
  const follow = (generation: Generation) =>
    generation.process.stopped.then(
      () => generation === current && resolveStopped(),
      (error: unknown) => generation === current && rejectStopped(error),
    );

  let first: EngineRuntime;
  try {
    first = await openRuntime(options.project);
  } catch (error) {
    await shutDown(back, log).catch(() => undefined);
    throw error;
  }
  const generation = build(first);
  current = generation;
  follow(generation);
  // The failure to start is what the caller sees; a step that fails to close after it is logged.
  const abandon = async (error: unknown): Promise<never> => {
    await generation.process.stop().catch(() => undefined);
    throw options.abort?.aborted ? options.abort.reason : error;
  };
  // Stopping ends the worker's wait for Temporal, which then fails the start.
  const giveUp = () => void generation.process.stop().catch(() => undefined);
  if (options.abort?.aborted) return abandon(options.abort.reason);
  options.abort?.addEventListener('abort', giveUp, { once: true });
  // The worker connects and its threads load the workflow bundle while the HTTP server loads its routes
  // and binds (those waits are off this thread); its failure to start rejects `stopped` either way.
  const started = inProcess ? generation.process.startWorker(workflows) : undefined;
  started?.catch(() => undefined);
  // The server reconciles the project's schedules (reference: the server's startup, not its workers).
  if (generation.app) first.startSchedules();
  let listening: Platform['http'];
  if (front && generation.app && options.http && httpLayer) {
    try {
      await front.use(generation.app);
      const bound = await httpLayer.listenApi(front, options.http);
      listening = { url: bound.url, port: bound.port };
      options.emit({ event: 'listening', url: bound.url, host: bound.host, port: bound.port, requestedPort: options.http.port, pid: process.pid });
    } catch (error) {
      return abandon(error);
    }
  }
  if (started && options.awaitWorker !== false) await started.catch(abandon);
  options.abort?.removeEventListener('abort', giveUp);
  if (options.abort?.aborted) return abandon(options.abort.reason);

  let stopping: Promise<void> | undefined;
  let reloads: Promise<void> = Promise.resolve();
  const replace = async (project: ProjectConfig): Promise<void> => {
    if (stopping) throw new CompozyError('NOT_RUNNING', 'The platform is stopping; the project was not reloaded.');
    // A first worker still starting (awaitWorker: false) would start after its runtime retired.
    await started?.catch(() => undefined);
    const previous = current as Generation;
    const next = build(await openRuntime(project));
    try {
      if (inProcess) await next.process.startWorker();
      if (front && next.app) await front.use(next.app);
    } catch (error) {
      await next.process.retire({ name: 'http app', close: () => next.app?.close() }).catch(() => undefined);
      throw error;
    }
    current = next;
    reloaded = { count: (reloaded?.count ?? 0) + 1, at: new Date() };
    follow(next);
    if (next.app) {
      // The reconciliation lease passes from the retiring version to this one now, not once its worker has drained.
      await previous.runtime.schedules.close();
      next.runtime.startSchedules();
    }
    const retired = previous.process.retire({ name: 'http app', close: () => previous.app?.close() }).catch(() => undefined);
    retiring.add(retired);
    void retired.finally(() => retiring.delete(retired));
  };

  return {
    get runtime() {
      return (current as Generation).runtime;
    },
    runsWorker: inProcess,
    http: listening,
    reload(project: ProjectConfig) {
      if (overrides.tools) {
        return Promise.reject(new CompozyError('USAGE', 'A platform given its tools (overrides.tools) cannot reload the project: the runtime a reload retires would close them.'));
      }
      const run = reloads.catch(() => undefined).then(() => replace(project));
      reloads = run;
      return run;
    },
    stop: () =>
      (stopping ??= (async () => {
        // A reload under way finishes first, so the version it started is the one stopped.
        await reloads.catch(() => undefined);
        await (current as Generation).process.stop();
      })()),
    stopped,
  };
}
