import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry, type State as WorkerState, type WorkerOptions as SdkWorkerOptions } from '@temporalio/worker';
import { compileWorkerOptions, type CompiledWorkerOptions } from '@temporalio/worker/lib/worker-options.js';
import type { WorkflowCreator } from '@temporalio/worker/lib/workflow/interface.js';
import type { WorkflowBundleWithSourceMapAndFilename } from '@temporalio/worker/lib/workflow/workflow-worker-thread/input.js';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { WORKFLOW_BUNDLE_PATH } from '../engine/bundle-path.js';
import { CompozyError, errorMessage } from '../errors.js';
import { describeNamespace } from './probes.js';

/**
 * SDK messages the engine reports better itself: each failed activity attempt is already one
 * "task … failed" line with its code and attempt (the SDK's carries the whole error and task token).
 */
const REPORTED_BY_ENGINE = new Set(['Activity failed']);

/** Scalar metadata as `key=value`, an error as its message; never the objects themselves. */
function describeMeta(meta: Record<string, unknown> | undefined, verbose: boolean): string {
  if (!meta) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(meta)) {
    if (key === 'taskToken' || key === 'sdkComponent' || value === undefined) continue;
    if (value instanceof Error) parts.push(`${key}=${JSON.stringify(value.message)}`);
    else if (verbose && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) parts.push(`${key}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  }
  return parts.length > 0 ? ` ${parts.join(' ')}` : '';
}

/** One line per SDK log entry, through the process's own log at WARN (INFO with verbose). */
export function formatSdkEntry(entry: LogEntry, verbose: boolean): string | undefined {
  if (!verbose && REPORTED_BY_ENGINE.has(entry.message)) return undefined;
  return `temporal ${entry.level.toLowerCase()}: ${entry.message}${describeMeta(entry.meta, verbose)}`;
}

let loggingInstalled = false;

/**
 * Routes the Temporal SDK's logs (its own and the native core's) through `log`. Called before any
 * worker or connection is created; later calls do nothing.
 */
export function installTemporalLogging(log: (line: string) => void, verbose: boolean): void {
  // The SDK's Runtime is a process singleton: a process that hosts several platforms (the programmatic
  // API, a test file with several environments) keeps the first configuration.
  if (loggingInstalled) return;
  loggingInstalled = true;
  const level = verbose ? 'INFO' : 'WARN';
  Runtime.install({
    shutdownSignals: [],
    logger: new DefaultLogger(level, (entry) => {
      const line = formatSdkEntry(entry, verbose);
      if (line !== undefined) log(line);
    }),
    telemetryOptions: { logging: { filter: { core: level, other: 'ERROR' }, forward: {} } },
  });
}

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  activities: Record<string, (...args: never[]) => unknown>;
  /** The workflow thread prepareWorkflows started for this worker (the first worker of a process); without it the worker starts its own. */
  workflows?: PreparedWorkflows | undefined;
  /** How long to keep retrying the first connection (the server may still be starting). */
  connectTimeoutMs: number;
  abort?: AbortSignal;
  /** Called once the server answered, before the worker loads its workflow bundle (a few hundred ms in its own thread). */
  onConnected?: () => void;
}

export interface RunningWorker {
  worker: Worker;
  connection: NativeConnection;
  /** Settles when the worker stops, rejecting when it failed. */
  done: Promise<void>;
  state(): WorkerState;
  shutdown(): Promise<void>;
}

/** Connects once the server answers and knows the namespace; a dev server may still be starting. */
async function connectWithRetry(address: string, namespace: string, timeoutMs: number, abort?: AbortSignal): Promise<NativeConnection> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let connection: NativeConnection | undefined;
  while (Date.now() < deadline) {
    if (abort?.aborted) {
      await connection?.close();
      throw abort.reason;
    }
    try {
      connection ??= await NativeConnection.connect({ address });
      await describeNamespace(connection, namespace, 1000);
      return connection;
    } catch (error) {
      lastError = error;
      await sleep(25);
    }
  }
  await connection?.close();
  throw new CompozyError('TEMPORAL_UNREACHABLE', `Temporal at ${address} is not reachable (${errorMessage(lastError)}).`, {
    hint: 'Start it with `compozy dev` or set TEMPORAL_ADDRESS.',
  });
}

/** The SDK options of every worker of the engine, but its connection. */
function sdkOptions(namespace: string, taskQueue: string, activities: object): SdkWorkerOptions {
  return { namespace, taskQueue, workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH }, activities, shutdownGraceTime: '10s' };
}

/**
 * The workflow thread of a worker not created yet (prepareWorkflows): its bundle loads while the rest of
 * the process starts, and the worker created later for the same activities takes it, once.
 */
export class PreparedWorkflows {
  /**
   * Settles once the thread runs (the bundle read and parsed on this thread, ~50 ms), whether or not
   * it will load: what this thread does next (loading modules, synchronously) no longer delays it.
   */
  readonly started: Promise<void>;
  private readonly creator: Promise<WorkflowCreator>;
  private taken = false;

  constructor(
    readonly activityNames: ReadonlySet<string>,
    readonly bundle: Promise<WorkflowBundleWithSourceMapAndFilename>,
    /** Held in an object, so that it settles when the thread is spawned, not when it has loaded. */
    spawned: Promise<{ creator: Promise<WorkflowCreator> }>,
  ) {
    this.started = spawned.then(
      () => undefined,
      () => undefined,
    );
    this.creator = spawned.then((thread) => thread.creator);
    this.creator.catch(() => undefined);
  }

  /** Hands the thread to the worker being created. */
  take(): Promise<WorkflowCreator> {
    if (this.taken) throw new Error('the prepared workflow thread was already handed to a worker, or discarded');
    this.taken = true;
    return this.creator;
  }

  /** Ends the thread when no worker took it (a start-up given up); nothing once one did. */
  async discard(): Promise<void> {
    if (this.taken) return;
    this.taken = true;
    await this.creator.then(
      (unused) => unused.destroy(),
      () => undefined,
    );
  }
}

/**
 * The bundle as the SDK's Worker.getOrCreateBundle reads a codePath (its code, inline source map and
 * absolute filename), without the SDK's preloading of the code into a vm context on this thread, which
 * is there for debuggers' breakpoints (~10 ms of the start-up's main thread; the workflow threads
 * compile the code themselves).
 */
async function readWorkflowBundle(codePath: string): Promise<WorkflowBundleWithSourceMapAndFilename> {
  const code = await readFile(codePath, 'utf8');
  const comment = code.lastIndexOf('//# sourceMappingURL=data:');
  const base64 = comment > 0 ? code.indexOf('base64,', comment) : -1;
  if (base64 < 0) throw new Error(`the workflow bundle ${codePath} has no inline source map`);
  const sourceMap = JSON.parse(Buffer.from(code.slice(base64 + 'base64,'.length).trimEnd(), 'base64').toString()) as WorkflowBundleWithSourceMapAndFilename['sourceMap'];
  return { code, sourceMap, filename: codePath };
}

/**
 * The SDK loads the workflow bundle into its thread inside Worker.create, which needs a connection:
 * so only once Temporal answers and the engine is loaded, ~0.3-0.4 s on the serial path of every start.
 * Its two protected steps, the bundle and the thread, run here ahead of it, from options compiled as
 * Worker.create compiles them; the worker created later takes them (preparedWorkerClass).
 */
class WorkflowThreads extends Worker {
  static start(namespace: string, taskQueue: string, activityNames: readonly string[]): PreparedWorkflows {
    const runtime = Runtime.instance();
    const placeholders = Object.fromEntries(activityNames.map((name) => [name, () => undefined]));
    const compiled = compileWorkerOptions(sdkOptions(namespace, taskQueue, placeholders), runtime.logger, runtime.metricMeter);
    const bundle = readWorkflowBundle(WORKFLOW_BUNDLE_PATH);
    const spawned = bundle.then((loaded) => ({ creator: this.createWorkflowCreator(loaded, compiled, runtime.logger) }));
    return new PreparedWorkflows(new Set(activityNames), bundle, spawned);
  }
}

/** Starts the workflow thread of the worker a process will create, before it has a connection or its activities (named here). */
export function prepareWorkflows(target: { namespace: string; taskQueue: string }, activityNames: readonly string[]): PreparedWorkflows {
  return WorkflowThreads.start(target.namespace, target.taskQueue, activityNames);
}

/** Worker.create on a prepared thread: the activities must be the ones it was prepared for. */
function preparedWorkerClass(preparation: PreparedWorkflows): typeof Worker {
  return class extends Worker {
    protected static override getOrCreateBundle(): Promise<WorkflowBundleWithSourceMapAndFilename> {
      return preparation.bundle;
    }

    protected static override createWorkflowCreator(_bundle: WorkflowBundleWithSourceMapAndFilename, compiled: CompiledWorkerOptions): Promise<WorkflowCreator> {
      const names = [...compiled.activities.keys()];
      const expected = preparation.activityNames;
      if (names.length !== expected.size || names.some((name) => !expected.has(name))) {
        throw new Error(`the workflow thread was prepared for the activities ${[...expected].join(', ')}, not ${names.join(', ')}`);
      }
      return preparation.take();
    }
  };
}

/** Starts a worker on the pre-built workflow bundle (`npm run build` writes it), on its prepared thread when given one. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  let connection: NativeConnection;
  try {
    connection = await connectWithRetry(options.address, options.namespace, options.connectTimeoutMs, options.abort);
  } catch (error) {
    await options.workflows?.discard();
    throw error;
  }
  options.onConnected?.();
  let worker: Worker;
  try {
    const WorkerClass = options.workflows ? preparedWorkerClass(options.workflows) : Worker;
    worker = await WorkerClass.create({ connection, ...sdkOptions(options.namespace, options.taskQueue, options.activities) });
  } catch (error) {
    await options.workflows?.discard();
    await connection.close();
    throw error;
  }
  const done = worker.run().finally(() => connection.close());
  return {
    worker,
    connection,
    done,
    state: () => worker.getState(),
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done.catch(() => undefined);
    },
  };
}
