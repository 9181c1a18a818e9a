import type { AddressInfo } from 'node:net';
import { errorMessage } from '../errors.js';
import { overallState, type ComponentHealth, type ComponentState, type HealthReport } from '../health.js';
import { bindPort } from '../platform/ports.js';
import { readRunState } from '../platform/run-state.js';
import { describeNamespace, taskQueuePolled } from '../temporal/probes.js';
import { installTemporalLogging, type RunningWorker } from '../temporal/worker.js';
import type { AppSettings } from '../config/settings.js';
import { buildApp } from './app.js';
import type { ProcessEvent } from './events.js';
import { EngineRuntime, temporalTarget, type RuntimeContext, type RuntimeOverrides } from './runtime.js';

export interface ServeOptions {
  projectName: string;
  /** The project folder, or a configuration its caller already validated. */
  project: RuntimeContext['project'];
  stateDir: string;
  /** Mode, host, port, Temporal address, namespace, task queue and backends. */
  settings: AppSettings;
  /** On EADDRINUSE take the next port (no port was asked for) instead of failing. */
  portFallback: boolean;
  /** The per-run nonce of the supervisor that started this process, answered on /readyz. */
  nonce?: string | undefined;
  /** SDK logs at INFO and their metadata. */
  verbose?: boolean;
  /** How the Temporal row describes its backend, e.g. "embedded dev server (CLI 1.5.1)". */
  temporalBackend: string;
  /** Run a Temporal worker in this process (default); without one, `compozy worker` processes do the work. */
  worker?: boolean;
  /** When set, exit as soon as this process is no longer our parent (the supervisor died). */
  supervisorPid?: number | undefined;
  log: (line: string) => void;
  emit: (event: ProcessEvent) => void;
  /** Adapters to use instead of the configured ones. */
  overrides?: RuntimeOverrides;
}

export interface ServeHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Settles when the server stops on its own (worker failure) — rejecting with the reason. */
  stopped: Promise<void>;
}

/** How long a tool process gets to exit on TERM at shutdown before it is killed. */
const TOOL_STOP_GRACE_MS = 2000;

function workerComponentState(worker: RunningWorker | undefined, failure: string | undefined): ComponentState {
  if (failure) return 'down';
  if (!worker) return 'starting';
  switch (worker.state()) {
    case 'RUNNING':
      return 'up';
    case 'INITIALIZED':
      return 'starting';
    case 'STOPPING':
    case 'DRAINING':
    case 'DRAINED':
      return 'degraded';
    default:
      return 'down';
  }
}

/**
 * `compozy serve` / `compozy start`: the HTTP API over the engine runtime, with an in-process Temporal
 * worker unless `worker: false`.
 */
export async function serve(options: ServeOptions): Promise<ServeHandle> {
  installTemporalLogging(options.log, options.verbose ?? false);
  const inProcess = options.worker !== false;
  let worker: RunningWorker | undefined;
  let workerFailure: string | undefined;
  const abort = new AbortController();
  const { settings } = options;
  const host = settings.serverHost.value;
  const { address: temporalAddress, namespace, taskQueue } = temporalTarget(settings);
  let url = `http://${host}:${settings.serverPort.value}`;
  const runtime: EngineRuntime = await EngineRuntime.open(
    {
      project: options.project,
      stateDir: options.stateDir,
      settings,
      log: options.log,
      observer: options.emit,
      runsTasks: inProcess,
      workerAvailable: async () => (inProcess ? worker?.state() === 'RUNNING' : taskQueuePolled(runtime.connection, namespace, taskQueue).catch(() => false)),
    },
    options.overrides,
  );

  const probeTemporal = async (): Promise<{ state: ComponentState; detail: string }> => {
    if (inProcess && !worker) return { state: workerFailure ? 'down' : 'starting', detail: workerFailure ? 'not connected' : 'connecting' };
    try {
      // Over the worker's own connection when there is one, so a health check opens nothing new.
      if (worker) await describeNamespace(worker.connection, namespace, 1000);
      else await runtime.connection.withDeadline(Date.now() + 1000, () => runtime.connection.workflowService.describeNamespace({ namespace: namespace }));
      return { state: 'up', detail: `namespace ${namespace}` };
    } catch (error) {
      return { state: 'down', detail: errorMessage(error).split('\n')[0] ?? 'unreachable' };
    }
  };

  const workerRow = async (processInfo: object): Promise<ComponentHealth> => {
    if (inProcess) {
      return { name: 'worker', backend: 'in-process', state: workerComponentState(worker, workerFailure), pid: process.pid, ...processInfo, detail: workerFailure ?? `task queue ${taskQueue}` };
    }
    const polled = await taskQueuePolled(runtime.connection, namespace, taskQueue).catch(() => false);
    return { name: 'worker', backend: 'compozy worker', state: polled ? 'up' : 'down', detail: polled ? `task queue ${taskQueue} is polled` : `no worker polls task queue ${taskQueue}` };
  };

  const health = async (): Promise<HealthReport> => {
    const probe = await probeTemporal();
    const run = readRunState(options.stateDir);
    const temporalChild = run?.supervisorPid === options.supervisorPid ? run?.children.temporal : undefined;
    const serveChild = run?.supervisorPid === options.supervisorPid ? run?.children.serve : undefined;
    const processInfo = (child: typeof serveChild) => (child ? { restarts: child.restarts, ...(child.lastExitCode !== undefined ? { lastExitCode: child.lastExitCode } : {}) } : {});
    const components: ComponentHealth[] = [
      {
        name: 'temporal',
        backend: options.temporalBackend,
        state: probe.state,
        address: temporalAddress,
        ...(temporalChild?.pid ? { pid: temporalChild.pid } : {}),
        ...processInfo(temporalChild),
        detail: probe.detail,
      },
      { name: 'api', backend: 'fastify', state: 'up', address: url, pid: process.pid, ...processInfo(serveChild) },
      await workerRow(processInfo(serveChild)),
      ...(await runtime.backendHealth()),
    ];
    return { mode: settings.mode.value, project: options.projectName, status: overallState(components), components };
  };

  const app = buildApp({
    health,
    notReadyReason: () => (!inProcess || worker?.state() === 'RUNNING' ? undefined : (workerFailure ?? 'worker is not polling yet')),
    engine: { client: runtime.engine, store: runtime.store, events: runtime.events },
    identity: { pid: process.pid, ...(options.nonce ? { nonce: options.nonce } : {}) },
    log: options.log,
  });
  let port: number;
  try {
    await bindPort({ port: settings.serverPort.value, fallback: options.portFallback }, (candidate) => app.listen({ host, port: candidate }).then(() => undefined));
    port = (app.server.address() as AddressInfo).port;
  } catch (error) {
    await app.close();
    await runtime.close();
    throw error;
  }
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  options.emit({ event: 'listening', url, host, port, requestedPort: settings.serverPort.value, pid: process.pid });

  let resolveStopped!: () => void;
  let rejectStopped!: (error: unknown) => void;
  const stopped = new Promise<void>((res, rej) => {
    resolveStopped = res;
    rejectStopped = rej;
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return stopped.catch(() => undefined);
    stopping = true;
    abort.abort(new Error('server is stopping'));
    // The tools first: a call stuck in a tool would otherwise hold the worker's shutdown past the supervisor's grace.
    await Promise.all([runtime.stopTools(TOOL_STOP_GRACE_MS), worker?.shutdown()]);
    await app.close();
    await runtime.close();
    resolveStopped();
  };

  if (options.supervisorPid !== undefined) {
    const supervisorPid = options.supervisorPid;
    const watch = setInterval(() => {
      if (process.ppid !== supervisorPid) {
        options.log(`supervisor (pid ${supervisorPid}) is gone; shutting down`);
        clearInterval(watch);
        void stop();
      }
    }, 500);
    watch.unref();
  }

  if (inProcess) {
    runtime.startWorker(abort.signal).then(
      (running) => {
        worker = running;
        running.done.then(
          () => {
            if (!stopping) {
              workerFailure = 'worker stopped';
              rejectStopped(new Error('the Temporal worker stopped unexpectedly'));
            }
          },
          (error: unknown) => {
            workerFailure = errorMessage(error);
            if (!stopping) rejectStopped(error);
          },
        );
      },
      (error: unknown) => {
        if (stopping) return;
        workerFailure = errorMessage(error);
        rejectStopped(error);
      },
    );
  }

  return { url, port, stop, stopped };
}
