import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { projectEnv, type AppSettings } from '../config/settings.js';
import type { HealthReport } from '../health.js';
import { readRunState } from '../platform/run-state.js';
import { probeNamespace, taskQueuePolled } from '../temporal/probes.js';
import { buildApp } from './app.js';
import type { HttpFront } from './http-front.js';
import { healthReport, type WorkerProbe } from './health-report.js';
import type { EngineProcess } from './process-handle.js';
import type { EngineRuntime } from './runtime.js';
import { StreamHub } from './streams/hub.js';

/** Where the HTTP API listens. */
export interface HttpOptions {
  host: string;
  /** 0 means any free port. */
  port: number;
  /** On EADDRINUSE take the next port (no port was asked for) instead of failing. */
  portFallback: boolean;
  /** Also serve the dev dashboard at /. */
  dashboard?: boolean;
}

export interface ApiServerOptions {
  projectName: string;
  /** Its run state tells the health report which children of `compozy dev` this process and its Temporal are. */
  stateDir: string;
  /** The mode the health report shows. */
  settings: AppSettings;
  /** Where it is to listen (the health report's API row before it does). */
  http: HttpOptions;
  /** How the Temporal row describes its backend, e.g. "embedded dev server (CLI 1.5.1)". */
  temporalBackend: string;
  /** Whether this process runs the worker: /readyz then waits for it to poll. */
  inProcess: boolean;
  /** This process's engine (its worker's state and failure); undefined until it exists. */
  process: () => EngineProcess | undefined;
  /** The per-run nonce of the supervisor that started this process, answered on /readyz. */
  nonce?: string | undefined;
  /** The supervisor that started this process, whose run state describes it. */
  supervisorPid?: number | undefined;
  /** How often the project was reloaded (watch mode) and when last; undefined before the first reload. */
  reloads?: () => { count: number; at: Date } | undefined;
  log: (line: string) => void;
}

/** The URL of a server listening on host:port. */
function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The HTTP API over a runtime: its routes, and the health report assembled from the probes of this
 * process (its worker, or the task queue's pollers when it runs none), Temporal and the backends. It
 * answers on `front`'s socket once front.use() hands it the requests; closing it leaves the socket.
 */
export function apiServer(runtime: EngineRuntime, options: ApiServerOptions, front: HttpFront): FastifyInstance {
  const { settings, inProcess } = options;
  const { temporal } = runtime;

  const workerProbe = async (): Promise<WorkerProbe> => {
    const engine = options.process();
    if (inProcess) return { kind: 'in-process', pid: process.pid, taskQueue: temporal.taskQueue, state: engine?.worker?.state(), failure: engine?.workerFailure };
    return { kind: 'external', taskQueue: temporal.taskQueue, polled: await taskQueuePolled(runtime.connection, temporal.namespace, temporal.taskQueue).catch(() => false) };
  };

  const health = async (): Promise<HealthReport> => {
    const worker = options.process()?.worker;
    // Over the worker's own connection when there is one, so a health check opens nothing new; an
    // in-process worker that has not connected yet leaves nothing to ask over.
    const connection = worker ? worker.connection : inProcess ? undefined : runtime.connection;
    const [namespace, workerNow, backends] = await Promise.all([connection ? probeNamespace(connection, temporal.namespace) : undefined, workerProbe(), runtime.backendHealth()]);
    const run = readRunState(options.stateDir);
    const ours = run?.supervisorPid === options.supervisorPid ? run?.children : undefined;
    const address = front.server.address() as AddressInfo | null;
    return healthReport({
      mode: settings.mode.value,
      project: options.projectName,
      temporal: { backend: options.temporalBackend, address: temporal.address, namespace, child: ours?.temporal },
      api: { url: urlOf(options.http.host, address?.port ?? options.http.port), pid: process.pid, child: ours?.serve, reloads: options.reloads?.() },
      worker: workerNow,
      backends,
    });
  };

  const app = buildApp({
    health,
    notReadyReason: () => {
      const engine = options.process();
      if (inProcess && !engine?.polling()) return engine?.workerFailure ?? 'worker is not polling yet';
      return runtime.schedulesNotReady();
    },
    engine: { client: runtime.engine, store: runtime.store, events: runtime.events },
    streams: new StreamHub(runtime.streamLog),
    schedules: runtime.schedules,
    memory: runtime.memory,
    project: runtime.projectConfig,
    ...(runtime.mcp ? { mcp: runtime.mcp } : {}),
    webhooks: { kv: runtime.kv, env: projectEnv(runtime.projectConfig.dir) },
    identity: { pid: process.pid, ...(options.nonce ? { nonce: options.nonce } : {}) },
    security: { host: options.http.host, settings, keys: runtime.store.apiKeys, kv: runtime.kv },
    log: options.log,
    dashboard: options.http.dashboard === true,
  }, { serverFactory: front.serverFactory });
  return app;
}

/** Binds the API's socket to its port (the next free one with portFallback) and says where it listens. */
export async function listenApi(front: HttpFront, http: HttpOptions): Promise<{ url: string; host: string; port: number }> {
  const port = await front.listen(http);
  return { url: urlOf(http.host, port), host: http.host, port };
}
