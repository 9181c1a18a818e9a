import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry, type State as WorkerState } from '@temporalio/worker';
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
  activities: object;
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

/** Starts a worker on the pre-built workflow bundle (`npm run build` writes it). */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const connection = await connectWithRetry(options.address, options.namespace, options.connectTimeoutMs, options.abort);
  options.onConnected?.();
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
      activities: options.activities,
      shutdownGraceTime: '10s',
    });
  } catch (error) {
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
