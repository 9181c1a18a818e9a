import { Client, Connection } from '@temporalio/client';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { parseDuration } from '../config/duration.js';
import { loadValidProject } from '../config/valid-project.js';
import { createSystemActivities } from '../engine/activities/system.js';
import { EngineActivities } from '../engine/activities/tasks.js';
import { EngineClient } from '../engine/client.js';
import { compileProject } from '../engine/project.js';
import { errorMessage } from '../errors.js';
import { overallState, type ComponentHealth, type ComponentState, type HealthReport } from '../health.js';
import { readRunState } from '../platform/run-state.js';
import { describeNamespace, startWorker, type RunningWorker } from '../temporal/worker.js';
import type { AppSettings } from '../config/settings.js';
import { buildApp } from './app.js';
import { memoryUnavailable, toolInvoker } from './engine-deps.js';
import { EventBus } from '../engine/events.js';
import { LlmAgents } from '../llm/agent-runner.js';
import { llmHealth } from '../llm/health.js';
import { projectEnv } from '../config/settings.js';
import { openKv } from './open-kv.js';
import type { Consumer } from '../kv/kv.js';
import { openStore } from './open-store.js';

export interface ServeOptions {
  projectName: string;
  projectDir: string;
  stateDir: string;
  mode: string;
  host: string;
  port: number;
  temporalAddress: string;
  /** How the Temporal row describes its backend, e.g. "embedded dev server (CLI 1.5.1)". */
  temporalBackend: string;
  namespace: string;
  taskQueue: string;
  /** Backend choices (KV driver, Redis URL) for the composition root. */
  settings: AppSettings;
  /** When set, exit as soon as this process is no longer our parent (the supervisor died). */
  supervisorPid?: number | undefined;
  log: (line: string) => void;
}

export interface ServeHandle {
  url: string;
  stop(): Promise<void>;
  /** Settles when the server stops on its own (worker failure) — rejecting with the reason. */
  stopped: Promise<void>;
}

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
 * `compozy serve`: opens the KV, serves the HTTP API and runs an in-process Temporal worker.
 * This is the composition root that picks adapters for the process.
 */
export async function serve(options: ServeOptions): Promise<ServeHandle> {
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN') });
  const projectConfig = loadValidProject(options.projectDir);
  const project = compileProject(projectConfig, options.settings.maxNestingDepth.value);
  const kv = await openKv(options.settings, options.stateDir);
  const store = await openStore(options.settings, options.stateDir).catch(async (error: unknown) => {
    await kv.close();
    throw error;
  });
  let worker: RunningWorker | undefined;
  let workerFailure: string | undefined;
  const abort = new AbortController();
  const url = `http://${options.host}:${options.port}`;
  const connection = Connection.lazy({ address: options.temporalAddress });
  const engine: EngineClient = new EngineClient({
    client: new Client({ connection, namespace: options.namespace }),
    store,
    project,
    taskQueue: options.taskQueue,
    workerAvailable: async () => worker?.state() === 'RUNNING',
  });
  const tools = toolInvoker(projectConfig, project, {
    defaultTimeoutMs: parseDuration(options.settings.toolExecutionTimeout.value),
    poolSize: options.settings.toolPoolSize.value,
    log: options.log,
  });
  const env = projectEnv(projectConfig.dir);
  const agents = new LlmAgents({
    projectDir: projectConfig.dir,
    models: projectConfig.models,
    resources: project.resources,
    tools,
    env,
    structuredOutputRetries: options.settings.structuredOutputRetries.value,
  });
  const llmComponent = llmHealth(projectConfig, env);
  const events = new EventBus(kv.broker, project);
  const activities = new EngineActivities({ store, tools, agents, memory: memoryUnavailable, signals: events });
  let dispatcher: Consumer | undefined;

  /** Probes Temporal over the worker's own connection, so a health check opens nothing new. */
  const probeTemporal = async (): Promise<{ state: ComponentState; detail: string }> => {
    if (!worker) return { state: workerFailure ? 'down' : 'starting', detail: workerFailure ? 'not connected' : 'connecting' };
    try {
      await describeNamespace(worker.connection, options.namespace, 1000);
      return { state: 'up', detail: `namespace ${options.namespace}` };
    } catch (error) {
      return { state: 'down', detail: errorMessage(error).split('\n')[0] ?? 'unreachable' };
    }
  };

  const health = async (): Promise<HealthReport> => {
    const probe = await probeTemporal();
    const run = readRunState(options.stateDir);
    const temporalChild = run?.supervisorPid === options.supervisorPid ? run?.children.temporal : undefined;
    const serveChild = run?.supervisorPid === options.supervisorPid ? run?.children.serve : undefined;
    let kvComponent: ComponentHealth;
    try {
      const info = await kv.info();
      const where = info.driver === 'sqlite' ? { path: info.location } : { address: info.location };
      kvComponent = { name: 'kv', backend: info.driver, state: 'up', ...where, detail: `${info.keys} keys, ${(info.sizeBytes / 1024).toFixed(0)} KiB` };
    } catch (error) {
      kvComponent = { name: 'kv', backend: kv.driver, state: 'down', detail: errorMessage(error) };
    }
    let storeComponent: ComponentHealth;
    try {
      const info = await store.info();
      const where = info.driver === 'sqlite' ? { path: info.location } : { address: info.location };
      storeComponent = { name: 'store', backend: info.driver, state: 'up', ...where, detail: `${info.executions} executions` };
    } catch (error) {
      storeComponent = { name: 'store', backend: store.driver, state: 'down', detail: errorMessage(error) };
    }
    const processInfo = (child: typeof serveChild) => (child ? { restarts: child.restarts, ...(child.lastExitCode !== undefined ? { lastExitCode: child.lastExitCode } : {}) } : {});
    const components: ComponentHealth[] = [
      {
        name: 'temporal',
        backend: options.temporalBackend,
        state: probe.state,
        address: options.temporalAddress,
        ...(temporalChild?.pid ? { pid: temporalChild.pid } : {}),
        ...processInfo(temporalChild),
        detail: probe.detail,
      },
      { name: 'api', backend: 'fastify', state: 'up', address: url, pid: process.pid, ...processInfo(serveChild) },
      {
        name: 'worker',
        backend: 'in-process',
        state: workerComponentState(worker, workerFailure),
        pid: process.pid,
        ...processInfo(serveChild),
        detail: workerFailure ?? `task queue ${options.taskQueue}`,
      },
      kvComponent,
      storeComponent,
      ...(llmComponent ? [llmComponent] : []),
    ];
    return { mode: options.mode, project: options.projectName, status: overallState(components), components };
  };

  const app = buildApp({
    health,
    notReadyReason: () => (worker?.state() === 'RUNNING' ? undefined : workerFailure ?? 'worker is not polling yet'),
    engine: { client: engine, store, events },
  });
  try {
    await events.setup();
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await tools.close();
    await connection.close();
    await kv.close();
    await store.close();
    throw error;
  }
  options.log(`api listening on ${url}`);

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
    await dispatcher?.cancel();
    await worker?.shutdown();
    await app.close();
    await tools.close();
    await connection.close();
    await kv.close();
    await store.close();
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

  startWorker({
    address: options.temporalAddress,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: { ...createSystemActivities(options.taskQueue), ...activities.functions() },
    connectTimeoutMs: 60_000,
    abort: abort.signal,
  }).then(
    (running) => {
      worker = running;
      options.log(`worker polling task queue "${options.taskQueue}" on ${options.temporalAddress}`);
      events.startDispatcher(engine, (error) => options.log(`event dispatch: ${errorMessage(error)}`)).then(
        (consumer) => {
          if (stopping) void consumer.cancel();
          else dispatcher = consumer;
        },
        (error: unknown) => options.log(`event dispatcher did not start: ${errorMessage(error)}`),
      );
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

  return { url, stop, stopped };
}
