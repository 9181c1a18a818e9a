import { Client, Connection } from '@temporalio/client';
import { parseDuration } from '../config/duration.js';
import { projectEnv, type AppSettings } from '../config/settings.js';
import type { ProjectConfig } from '../config/types.js';
import { loadValidProject } from '../config/valid-project.js';
import { EngineActivities } from '../engine/activities/engine-activities.js';
import { EngineClient } from '../engine/client.js';
import { EventBus } from '../engine/events.js';
import type { AgentInvoker, AgentStep, AgentStepScope, MemoryService } from '../engine/executors.js';
import type { ExecutionObserver } from '../engine/observer.js';
import { compileProject, type EngineProject } from '../engine/project.js';
import { RecordingStore } from '../engine/recording-store.js';
import { ExecutionStreamLog } from '../engine/stream-log.js';
import { CompozyError, errorMessage } from '../errors.js';
import type { ComponentHealth } from '../health.js';
import type { Consumer, Kv } from '../kv/kv.js';
import { LlmAgents } from '../llm/agent-runner.js';
import { llmHealth } from '../llm/health.js';
import type { ExecutionStore } from '../store/store.js';
import { startWorker, type PreparedWorkflows, type RunningWorker } from '../temporal/worker.js';
import { protectedStatePaths, toolInvoker, type RuntimeTools } from './engine-deps.js';
import { openKv } from './open-kv.js';
import { openStore } from './open-store.js';
import { plural } from '../platform/plural.js';
import { projectMemories } from '../config/memory-resource.js';
import { describeMemoryWarning, engineMemoryService } from '../memory/engine-service.js';
import { createMemoryManager, type MemoryManager, type MemoryManagerOptions } from '../memory/service.js';
import { modelSummarizers } from '../memory/flush/model-summarizer.js';
import { shutDown, type ShutdownStep } from '../platform/shutdown.js';
import { nativeToolSpecs } from '../tools/native/index.js';
import { projectMcpServers } from '../config/mcp-servers.js';
import { McpServers } from '../mcp/servers.js';
import { Schedules } from '../triggers/schedules.js';

export type { RuntimeTools } from './engine-deps.js';

/** Where a runtime runs and whom it tells; the backends, Temporal namespace, task queue and limits come from `settings`. */
export interface RuntimeContext {
  /** The project folder (its configuration is loaded and validated), or a configuration its caller already validated. */
  project: string | ProjectConfig;
  /** Where the SQLite KV and store live (the project's .compozy/, or a temporary folder). */
  stateDir: string;
  /** The effective settings (flags > environment > compozy.yaml > defaults); `temporalAddress` must be set. */
  settings: AppSettings;
  log: (line: string) => void;
  /** Whether a worker polls the task queue (the API refuses to start executions otherwise). */
  workerAvailable: () => Promise<boolean>;
  /** Told when this process's worker starts and finishes executions and when tasks fail. */
  observer?: ExecutionObserver;
  /** Whether tasks run in this process (default true); an API without a worker starts no tool pool. */
  runsTasks?: boolean;
}

/** Adapters a caller supplies instead of the ones the settings choose (a test harness, the programmatic API). */
export interface RuntimeOverrides {
  /** A KV instead of the configured one (e.g. an ephemeral SQLite file); its caller closes it. */
  kv?: Kv;
  /** An execution store instead of the configured one; its caller closes it. */
  store?: ExecutionStore;
  /** Tools instead of the project's tool pool (e.g. scripted results); the runtime closes them. */
  tools?: RuntimeTools;
  /**
   * Agents instead of the LLM layer (e.g. a scripted model); the `llm` health row is then left out. A
   * function is given the runtime's memories, so agents with `memory:` remember there too.
   */
  agents?: AgentInvoker | ((memory: MemoryManager) => AgentInvoker);
  /** The service memory tasks call instead of the project's memories on the runtime's KV. */
  memory?: MemoryService;
  /** Summarizes for the memories with flushing.summary_model instead of their model (e.g. a scripted model). */
  modelSummarizer?: MemoryManagerOptions['modelSummarizer'];
}

/** The Temporal connection settings every part of a runtime uses. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
}

/** The Temporal frontend, namespace and task queue of these settings; an address is required. */
export function temporalTarget(settings: AppSettings): TemporalTarget {
  const address = settings.temporalAddress.value;
  if (!address) {
    throw new CompozyError('USAGE', 'The engine runtime needs a Temporal address.', {
      hint: 'Pass --temporal-address or set TEMPORAL_ADDRESS; `compozy dev` starts an embedded Temporal for you.',
    });
  }
  return { address, namespace: settings.temporalNamespace.value, taskQueue: settings.taskQueue.value };
}


/**
 * What serve and worker processes share: the validated project, the KV and the execution store on the
 * configured backends, the tool pool, the LLM layer, the event bus, and a Temporal client. This is the
 * composition root that picks adapters; a caller can supply any of them instead (RuntimeOverrides).
 */
export class EngineRuntime {
  private dispatcher: Consumer | undefined;
  private schedulesStarted = false;

  private constructor(
    readonly context: RuntimeContext,
    readonly temporal: TemporalTarget,
    readonly projectConfig: ProjectConfig,
    readonly project: EngineProject,
    readonly kv: Kv,
    /** The store; its writes also append to the stream log. */
    readonly store: ExecutionStore,
    /** Each execution's event log, which the SSE routes stream. */
    readonly streamLog: ExecutionStreamLog,
    readonly connection: Connection,
    readonly engine: EngineClient,
    readonly events: EventBus,
    /** The tools tasks call (the project's pool, or the caller's override); the programmatic API runs them directly too. */
    readonly tools: RuntimeTools,
    /** The agents tasks call (the LLM layer, or the caller's override). */
    readonly agents: AgentInvoker,
    /** The project's conversation memories (memory tasks, agent memory, the memory API). */
    readonly memory: MemoryManager,
    /** The project's MCP servers, when it declares some and this process runs its agents. */
    readonly mcp: McpServers | undefined,
    /** The project's workflow schedules as Temporal Schedules; a serve process reconciles them (startSchedules). */
    readonly schedules: Schedules,
    private readonly activities: EngineActivities,
    private readonly llm: ComponentHealth | undefined,
    /** What the runtime opened itself (never an adapter its caller supplied), in closing order. */
    private readonly owned: readonly ShutdownStep[],
  ) {}

  static async open(context: RuntimeContext, overrides: RuntimeOverrides = {}): Promise<EngineRuntime> {
    const { settings } = context;
    const temporal = temporalTarget(settings);
    const projectConfig = typeof context.project === 'string' ? loadValidProject(context.project) : context.project;
    const project = compileProject(projectConfig, settings.maxNestingDepth.value);
    const env = projectEnv(projectConfig.dir);
    const owned: ShutdownStep[] = [];
    // The error that stopped the opening is the one thrown; a close that fails after it is logged.
    const closeOwned = () => shutDown(owned, context.log).catch(() => undefined);
    let kv: Kv;
    let store: ExecutionStore;
    let memoryManager: MemoryManager;
    try {
      kv = overrides.kv ?? (await openKv(settings, context.stateDir));
      if (!overrides.kv) owned.push({ name: 'kv', close: () => kv.close() });
      store = overrides.store ?? (await openStore(settings, context.stateDir));
      if (!overrides.store) owned.push({ name: 'store', close: () => store.close() });
      memoryManager = await createMemoryManager({
        kv, project: projectConfig.name, resources: projectMemories(projectConfig), onWarning: (warning) => context.log(describeMemoryWarning(warning)),
        modelSummarizer: overrides.modelSummarizer ?? modelSummarizers({ projectDir: projectConfig.dir, models: projectConfig.models, env }),
      });
      // Closed before the KV it writes to: its pending flush checks still need it.
      owned.unshift({ name: 'memory', close: () => memoryManager.close() });
    } catch (error) {
      await closeOwned();
      throw error;
    }
    // Every state write of this process also goes to the execution's stream log (the SSE routes read it).
    const streamLog = new ExecutionStreamLog(kv);
    store = new RecordingStore(store, streamLog);
    const connection = Connection.lazy({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });
    const engine = new EngineClient({ client, store, project, taskQueue: temporal.taskQueue, workerAvailable: context.workerAvailable, maxActiveExecutions: settings.maxActiveExecutions.value });
    const tools =
      overrides.tools ??
      toolInvoker(projectConfig, project, {
        defaultTimeoutMs: parseDuration(settings.toolExecutionTimeout.value),
        poolSize: settings.toolPoolSize.value,
        log: context.log,
        runsTasks: context.runsTasks !== false,
        protectedPaths: protectedStatePaths(projectConfig, settings, context.stateDir),
      });
    tools.bindEngine?.(engine);
    const mcpServers = projectMcpServers(projectConfig);
    // Started once here, in the background: an agent's call waits for its server's connection in progress.
    const mcp =
      mcpServers.length > 0 && context.runsTasks !== false && !overrides.agents
        ? new McpServers(mcpServers, { cwd: projectConfig.dir, env, callTimeoutMs: parseDuration(settings.toolExecutionTimeout.value), log: context.log })
        : undefined;
    void mcp?.start();
    const agents =
      typeof overrides.agents === 'function'
        ? overrides.agents(memoryManager)
        : (overrides.agents ??
          new LlmAgents({ projectDir: projectConfig.dir, models: projectConfig.models, resources: project.resources, tools, env, structuredOutputRetries: settings.structuredOutputRetries.value, memory: memoryManager, ...(mcp ? { mcp } : {}), ...(projectConfig.runtime.nativeTools ? { nativeTools: nativeToolSpecs(projectConfig.runtime.nativeTools) } : {}) }));
    const memory = overrides.memory ?? engineMemoryService(memoryManager);
    const events = new EventBus(kv.broker, project);
    const agentSteps = async (execId: string, scope: AgentStepScope, step: AgentStep) => {
      await streamLog.append(execId, { kind: 'agent', at: new Date().toISOString(), scope, step });
    };
    const activities = new EngineActivities({ store, tools, agents, memory, signals: events, agentSteps, workflows: project.workflows, ...(context.observer ? { observer: context.observer } : {}) });
    const llm = overrides.agents ? undefined : llmHealth(projectConfig, env);
    const schedules = new Schedules({ client, kv, project: projectConfig, taskQueue: temporal.taskQueue, log: context.log });
    const runtime = new EngineRuntime(context, temporal, projectConfig, project, kv, store, streamLog, connection, engine, events, tools, agents, memoryManager, mcp, schedules, activities, llm, owned);
    try {
      await events.setup();
    } catch (error) {
      await runtime.close();
      throw error;
    }
    return runtime;
  }

  /** Starts the Temporal worker (on the workflow thread prepared for it, when given one); once it polls, the event dispatcher too. */
  async startWorker(abort: AbortSignal, workflows?: PreparedWorkflows): Promise<RunningWorker> {
    const { temporal, context } = this;
    const worker = await startWorker({
      ...temporal,
      activities: this.activities.functions(),
      workflows,
      connectTimeoutMs: 60_000,
      abort,
      // The client's channel connects while the worker loads its bundle, which leaves this thread
      // idle: the first start does not pay for it. Not before: a channel that meets a closed port
      // backs off for about a second.
      onConnected: () => void this.connection.ensureConnected().catch(() => undefined),
    });
    context.log(`worker polling task queue "${temporal.taskQueue}" on ${temporal.address}`);
    this.events.startDispatcher(this.engine, (error) => context.log(`event dispatch: ${errorMessage(error)}`)).then(
      (consumer) => {
        if (abort.aborted) void consumer.cancel();
        else this.dispatcher = consumer;
      },
      (error: unknown) => context.log(`event dispatcher did not start: ${errorMessage(error)}`),
    );
    return worker;
  }

  /**
   * Reconciles the project's schedules into Temporal Schedules in the background (a serve process does;
   * a worker or an embedded runtime does not). Its state shows in the schedules health row and /readyz.
   */
  startSchedules(): void {
    this.schedulesStarted = true;
    this.schedules.start();
  }

  /** Why /readyz waits for the schedules, when this process reconciles them. */
  schedulesNotReady(): string | undefined {
    return this.schedulesStarted ? this.schedules.notReadyReason() : undefined;
  }

  /** Health rows of the backends: kv, store, memory when the project declares memories, llm when it has agents, tools when it has a tool pool. */
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
      ...(this.memory.resources.length > 0 ? [await this.memoryHealth()] : []),
      ...(this.llm ? [this.llm] : []),
      ...[this.tools.health()].filter((tools): tools is ComponentHealth => tools !== undefined),
      ...(this.mcp?.health() ?? []),
      ...(this.schedulesStarted ? [await this.schedules.health()].filter((row): row is ComponentHealth => row !== undefined) : []),
    ];
  }

  /** The memory row: where conversations live ("redis" resources are on the embedded KV in standalone), resources and keys. */
  private async memoryHealth(): Promise<ComponentHealth> {
    const backend = this.memory.driver === 'sqlite' ? 'sqlite (embedded KV)' : 'redis';
    try {
      const health = await this.memory.health();
      return { name: 'memory', backend, state: 'up', detail: `${plural(health.resources, 'resource')}, ${plural(health.keys, 'key')}` };
    } catch (error) {
      return { name: 'memory', backend, state: 'down', detail: errorMessage(error) };
    }
  }

  /** Stops the tool processes (TERM, then KILL after graceMs), so a tool stuck in a loop cannot hold up shutdown. */
  stopTools(graceMs: number): Promise<void> {
    return this.tools.close(graceMs);
  }

  /**
   * What close() does, in order: the dispatcher, the tools, the Temporal connection, then what the
   * runtime opened (memory before the KV its flushes write to, the store). A process that closes more
   * runs these among its own steps.
   */
  closeSteps(): ShutdownStep[] {
    return [
      { name: 'event dispatcher', close: () => this.dispatcher?.cancel() },
      { name: 'schedules', close: () => this.schedules.close() },
      { name: 'tools', close: () => this.tools.close() },
      { name: 'mcp servers', close: () => this.mcp?.close() },
      { name: 'temporal connection', close: () => this.connection.close() },
      ...this.owned,
    ];
  }

  /**
   * Stops the dispatcher and the tools, and closes what the runtime opened (the worker is stopped by
   * its owner first). Every step runs even when one fails; then a ShutdownError names the failures.
   */
  close(): Promise<void> {
    return shutDown(this.closeSteps(), this.context.log);
  }
}
