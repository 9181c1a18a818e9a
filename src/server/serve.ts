import type { AddressInfo } from 'node:net';
import type { AppSettings } from '../config/settings.js';
import type { HealthReport } from '../health.js';
import { bindPort } from '../platform/ports.js';
import { readRunState } from '../platform/run-state.js';
import { probeNamespace, taskQueuePolled } from '../temporal/probes.js';
import { installTemporalLogging } from '../temporal/worker.js';
import { buildApp } from './app.js';
import type { ProcessEvent } from './events.js';
import { healthReport, type WorkerProbe } from './health-report.js';
import { EngineProcess, type ProcessHandle } from './process-handle.js';
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

/** A serve process: the handle every engine process has, and where its API listens. */
export interface ServeHandle extends ProcessHandle {
  url: string;
  port: number;
}

/** How often serve checks that the supervisor that started it is still its parent. */
const SUPERVISOR_CHECK_MS = 500;

/**
 * `compozy serve` / `compozy start`: the HTTP API over the engine runtime, with an in-process Temporal
 * worker unless `worker: false`.
 */
export async function serve(options: ServeOptions): Promise<ServeHandle> {
  installTemporalLogging(options.log, options.verbose ?? false);
  const { settings } = options;
  const inProcess = options.worker !== false;
  const host = settings.serverHost.value;
  const temporal = temporalTarget(settings);
  let engine: EngineProcess | undefined;
  const runtime: EngineRuntime = await EngineRuntime.open(
    {
      project: options.project,
      stateDir: options.stateDir,
      settings,
      log: options.log,
      observer: options.emit,
      runsTasks: inProcess,
      workerAvailable: async () => (inProcess ? (engine?.polling() ?? false) : taskQueuePolled(runtime.connection, temporal.namespace, temporal.taskQueue).catch(() => false)),
    },
    options.overrides,
  );
  let url = `http://${host}:${settings.serverPort.value}`;

  const workerProbe = async (): Promise<WorkerProbe> => {
    if (inProcess) return { kind: 'in-process', pid: process.pid, taskQueue: temporal.taskQueue, state: engine?.worker?.state(), failure: engine?.workerFailure };
    return { kind: 'external', taskQueue: temporal.taskQueue, polled: await taskQueuePolled(runtime.connection, temporal.namespace, temporal.taskQueue).catch(() => false) };
  };

  const health = async (): Promise<HealthReport> => {
    const worker = engine?.worker;
    // Over the worker's own connection when there is one, so a health check opens nothing new; an
    // in-process worker that has not connected yet leaves nothing to ask over.
    const connection = worker ? worker.connection : inProcess ? undefined : runtime.connection;
    const [namespace, workerNow, backends] = await Promise.all([connection ? probeNamespace(connection, temporal.namespace) : undefined, workerProbe(), runtime.backendHealth()]);
    const run = readRunState(options.stateDir);
    const ours = run?.supervisorPid === options.supervisorPid ? run?.children : undefined;
    return healthReport({
      mode: settings.mode.value,
      project: options.projectName,
      temporal: { backend: options.temporalBackend, address: temporal.address, namespace, child: ours?.temporal },
      api: { url, pid: process.pid, child: ours?.serve },
      worker: workerNow,
      backends,
    });
  };

  const app = buildApp({
    health,
    notReadyReason: () => (!inProcess || engine?.polling() ? undefined : (engine?.workerFailure ?? 'worker is not polling yet')),
    engine: { client: runtime.engine, store: runtime.store, events: runtime.events },
    memory: runtime.memory,
    identity: { pid: process.pid, ...(options.nonce ? { nonce: options.nonce } : {}) },
    log: options.log,
  });
  let port: number;
  try {
    await bindPort({ port: settings.serverPort.value, fallback: options.portFallback }, (candidate) => app.listen({ host, port: candidate }).then(() => undefined));
    port = (app.server.address() as AddressInfo).port;
  } catch (error) {
    await app.close();
    await runtime.close().catch(() => undefined);
    throw error;
  }
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  options.emit({ event: 'listening', url, host, port, requestedPort: settings.serverPort.value, pid: process.pid });

  const running = new EngineProcess(runtime, { front: { name: 'http server', close: () => app.close() } });
  engine = running;

  if (options.supervisorPid !== undefined) {
    const supervisorPid = options.supervisorPid;
    const watch = setInterval(() => {
      if (process.ppid !== supervisorPid) {
        options.log(`supervisor (pid ${supervisorPid}) is gone; shutting down`);
        clearInterval(watch);
        // A failing step is logged and rejects `stopped`, which the caller awaits.
        running.stop().catch(() => undefined);
      }
    }, SUPERVISOR_CHECK_MS);
    watch.unref();
  }

  // Its failure rejects `stopped`, which the caller awaits.
  if (inProcess) running.startWorker().catch(() => undefined);

  return { url, port, stop: () => running.stop(), stopped: running.stopped };
}
