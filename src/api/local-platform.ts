import { parseDuration } from '../config/duration.js';
import { projectEnv, type AppSettings } from '../config/settings.js';
import type { ProjectConfig } from '../config/types.js';
import type { AgentInvoker, ToolInvoker } from '../engine/executors.js';
import type { ExecutionEvent } from '../engine/observer.js';
import { compileProject } from '../engine/project.js';
import { CompozyError, errorMessage } from '../errors.js';
import { LlmAgents } from '../llm/agent-runner.js';
import type { ModelScript } from '../llm/replay.js';
import { toolInvoker } from '../server/engine-deps.js';
import { EngineRuntime, type RuntimeTools } from '../server/runtime.js';
import { taskQueuePolled } from '../temporal/probes.js';
import { installTemporalLogging, type RunningWorker } from '../temporal/worker.js';
import type { TemporalServer } from './embedded-temporal.js';

/** A tool's scripted result: a value, or a function of the tool's input. */
export type ToolScript = Record<string, unknown> | ((input: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>);

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
  /** Answers every model call (tests). */
  modelScript?: ModelScript;
  /** Results of these tools instead of running them in the tool pool (tests). */
  toolScripts?: Readonly<Record<string, ToolScript>>;
}

export interface LocalPlatform {
  runtime: EngineRuntime;
  temporalAddress: string;
  /** How the Temporal row describes its backend. */
  temporalBackend: string;
  tools: ToolInvoker;
  agents: AgentInvoker;
  /** Undefined when this process runs no worker. */
  worker: RunningWorker | undefined;
  close(): Promise<void>;
}

let loggingInstalled = false;

/**
 * The Temporal SDK's logs through `log`, once per process and only while the SDK has no runtime yet: a
 * program that configured its own Temporal Runtime keeps it.
 */
function routeTemporalLogs(log: (line: string) => void): void {
  if (loggingInstalled) return;
  loggingInstalled = true;
  try {
    installTemporalLogging(log, false);
  } catch (error) {
    if ((error as Error).name !== 'IllegalStateError') throw error;
  }
}

/** The project's tool pool, with scripted tools answered here instead. */
function scriptedTools(pool: RuntimeTools, scripts: Readonly<Record<string, ToolScript>>): RuntimeTools {
  return {
    async call(toolId, input, options) {
      const script = scripts[toolId];
      if (script === undefined) return pool.call(toolId, input, options);
      return typeof script === 'function' ? script(input) : script;
    },
    close: (graceMs) => pool.close(graceMs),
    health: () => pool.health(),
  };
}

/**
 * The platform in this process, on the runtime's composition root: the Temporal dev server when the
 * settings name no Temporal, the EngineRuntime (KV, store, tools, agents, events) and its worker.
 * The tools and agents are supplied as overrides so that the caller can run them directly too.
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
  const engineProject = compileProject(config, settings.maxNestingDepth.value);
  const pool = toolInvoker(config, engineProject, {
    defaultTimeoutMs: parseDuration(settings.toolExecutionTimeout.value),
    poolSize: settings.toolPoolSize.value,
    log,
    runsTasks: options.worker,
  });
  const tools = options.toolScripts ? scriptedTools(pool, options.toolScripts) : pool;
  const agents = new LlmAgents({
    projectDir: config.dir,
    models: config.models,
    resources: engineProject.resources,
    tools,
    env: projectEnv(config.dir),
    structuredOutputRetries: settings.structuredOutputRetries.value,
    ...(options.modelScript ? { script: options.modelScript } : {}),
  });
  let worker: RunningWorker | undefined;
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
          options.worker ? worker?.state() === 'RUNNING' : taskQueuePolled(runtime.connection, settings.temporalNamespace.value, settings.taskQueue.value).catch(() => false),
      },
      { tools, agents },
    );
  } catch (error) {
    await tools.close();
    await embedded?.stop();
    throw error;
  }
  const abort = new AbortController();
  if (options.worker) {
    try {
      worker = await runtime.startWorker(abort.signal);
    } catch (error) {
      await runtime.close();
      await embedded?.stop();
      throw error;
    }
    worker.done.catch((error: unknown) => log(`worker stopped: ${errorMessage(error)}`));
  }
  let closing: Promise<void> | undefined;
  return {
    runtime,
    temporalAddress: address,
    temporalBackend: embedded?.backend ?? 'external',
    tools,
    agents,
    worker,
    close() {
      closing ??= (async () => {
        abort.abort(new Error('the platform is stopping'));
        await Promise.all([runtime.stopTools(2000), worker?.shutdown()]);
        await runtime.close();
        await embedded?.stop();
      })();
      return closing;
    },
  };
}
