import { Client, Connection } from '@temporalio/client';
import { parseDuration } from '../config/duration.js';
import { projectEnv, type AppSettings } from '../config/settings.js';
import type { ProjectConfig } from '../config/types.js';
import { loadValidProject } from '../config/valid-project.js';
import { createSystemActivities } from '../engine/activities/system.js';
import { EngineActivities } from '../engine/activities/tasks.js';
import { EngineClient } from '../engine/client.js';
import { EventBus } from '../engine/events.js';
import type { ExecutionObserver } from '../engine/observer.js';
import { compileProject, type EngineProject } from '../engine/project.js';
import { errorMessage } from '../errors.js';
import type { ComponentHealth } from '../health.js';
import type { Consumer, Kv } from '../kv/kv.js';
import { LlmAgents } from '../llm/agent-runner.js';
import { llmHealth } from '../llm/health.js';
import type { ExecutionStore } from '../store/store.js';
import { startWorker, type RunningWorker } from '../temporal/worker.js';
import { memoryUnavailable, toolInvoker } from './engine-deps.js';
import { openKv } from './open-kv.js';
import { openStore } from './open-store.js';
import { plural } from '../platform/plural.js';

export interface RuntimeOptions {
  projectDir: string;
  stateDir: string;
  settings: AppSettings;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  log: (line: string) => void;
  /** Whether a worker polls the task queue (the API refuses to start executions otherwise). */
  workerAvailable: () => Promise<boolean>;
  /** Told when this process's worker starts and finishes executions and when tasks fail. */
  observer?: ExecutionObserver;
  /** Whether tasks run in this process (default true); an API without a worker starts no tool pool. */
  runsTasks?: boolean;
}

/**
 * What serve and worker processes share: the validated project, the KV and the execution store on the
 * configured backends, the tool pool, the LLM layer, the event bus, and a Temporal client. This is the
 * composition root that picks adapters.
 */
export class EngineRuntime {
  private dispatcher: Consumer | undefined;

  private constructor(
    readonly options: RuntimeOptions,
    readonly projectConfig: ProjectConfig,
    readonly project: EngineProject,
    readonly kv: Kv,
    readonly store: ExecutionStore,
    readonly connection: Connection,
    readonly engine: EngineClient,
    readonly events: EventBus,
    private readonly tools: ReturnType<typeof toolInvoker>,
    private readonly activities: EngineActivities,
    private readonly llm: ComponentHealth | undefined,
  ) {}

  static async open(options: RuntimeOptions): Promise<EngineRuntime> {
    const projectConfig = loadValidProject(options.projectDir);
    const project = compileProject(projectConfig, options.settings.maxNestingDepth.value);
    const kv = await openKv(options.settings, options.stateDir);
    const store = await openStore(options.settings, options.stateDir).catch(async (error: unknown) => {
      await kv.close();
      throw error;
    });
    const connection = Connection.lazy({ address: options.temporalAddress });
    const client = new Client({ connection, namespace: options.namespace });
    const engine = new EngineClient({ client, store, project, taskQueue: options.taskQueue, workerAvailable: options.workerAvailable, maxActiveExecutions: options.settings.maxActiveExecutions.value });
    const tools = toolInvoker(projectConfig, project, {
      defaultTimeoutMs: parseDuration(options.settings.toolExecutionTimeout.value),
      poolSize: options.settings.toolPoolSize.value,
      log: options.log,
      runsTasks: options.runsTasks !== false,
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
    const events = new EventBus(kv.broker, project);
    const activities = new EngineActivities({ store, tools, agents, memory: memoryUnavailable, signals: events, ...(options.observer ? { observer: options.observer } : {}) });
    const runtime = new EngineRuntime(options, projectConfig, project, kv, store, connection, engine, events, tools, activities, llmHealth(projectConfig, env));
    try {
      await events.setup();
    } catch (error) {
      await runtime.close();
      throw error;
    }
    return runtime;
  }

  /** Starts the Temporal worker; once it polls, the event dispatcher too. */
  async startWorker(abort: AbortSignal): Promise<RunningWorker> {
    const { options } = this;
    const worker = await startWorker({
      address: options.temporalAddress,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      activities: { ...createSystemActivities(options.taskQueue), ...this.activities.functions() },
      connectTimeoutMs: 60_000,
      abort,
    });
    options.log(`worker polling task queue "${options.taskQueue}" on ${options.temporalAddress}`);
    this.events.startDispatcher(this.engine, (error) => options.log(`event dispatch: ${errorMessage(error)}`)).then(
      (consumer) => {
        if (abort.aborted) void consumer.cancel();
        else this.dispatcher = consumer;
      },
      (error: unknown) => options.log(`event dispatcher did not start: ${errorMessage(error)}`),
    );
    return worker;
  }

  /** Health rows of the backends: kv, store, llm when the project has agents, tools when it has a tool pool. */
  async backendHealth(): Promise<ComponentHealth[]> {
    type Probe = { where: string; sqlite: boolean; detail: string; degraded?: { code: string; message: string } | undefined };
    const row = async (name: 'kv' | 'store', driver: string, probe: () => Promise<Probe>): Promise<ComponentHealth> => {
      try {
        const { where, sqlite, detail, degraded } = await probe();
        const place = sqlite ? { path: where } : { address: where };
        if (degraded) return { name, backend: driver, state: 'degraded', ...place, detail: `${degraded.code}: ${degraded.message}` };
        return { name, backend: driver, state: 'up', ...place, detail };
      } catch (error) {
        return { name, backend: driver, state: 'down', detail: errorMessage(error) };
      }
    };
    return [
      await row('kv', this.kv.driver, async () => {
        const info = await this.kv.info();
        return { where: info.location, sqlite: info.driver === 'sqlite', detail: `${plural(info.keys, 'key')}, ${(info.sizeBytes / 1024).toFixed(0)} KiB`, degraded: info.degraded };
      }),
      await row('store', this.store.driver, async () => {
        const info = await this.store.info();
        return { where: info.location, sqlite: info.driver === 'sqlite', detail: plural(info.executions, 'execution'), degraded: info.degraded };
      }),
      ...(this.llm ? [this.llm] : []),
      ...[this.tools.health()].filter((tools): tools is ComponentHealth => tools !== undefined),
    ];
  }

  /** Stops the tool processes (TERM, then KILL after graceMs), so a tool stuck in a loop cannot hold up shutdown. */
  stopTools(graceMs: number): Promise<void> {
    return this.tools.close(graceMs);
  }

  /** Stops the dispatcher and closes everything the runtime opened (the worker is stopped by its owner first). */
  async close(): Promise<void> {
    await this.dispatcher?.cancel();
    await this.tools.close();
    await this.connection.close();
    await this.kv.close();
    await this.store.close();
  }
}

/** Whether some worker polled the task queue in the last minute (for an API that runs no worker itself). */
export async function taskQueuePolled(connection: Connection, namespace: string, taskQueue: string): Promise<boolean> {
  const response = await connection.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: 1 },
    taskQueueType: 1,
  });
  const recent = Date.now() - 60_000;
  return (response.pollers ?? []).some((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000 >= recent);
}
