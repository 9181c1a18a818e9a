import { NativeConnection, Worker, type State as WorkerState } from '@temporalio/worker';
import { setTimeout as sleep } from 'node:timers/promises';
import { WORKFLOW_BUNDLE_PATH } from '../engine/bundle-path.js';
import { CompozyError, errorMessage } from '../errors.js';

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  activities: object;
  /** How long to keep retrying the first connection (the server may still be starting). */
  connectTimeoutMs: number;
  abort?: AbortSignal;
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

export async function describeNamespace(connection: NativeConnection, namespace: string, timeoutMs: number): Promise<void> {
  await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.describeNamespace({ namespace }));
}

/** Starts a worker on the pre-built workflow bundle (`npm run build` writes it). */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const connection = await connectWithRetry(options.address, options.namespace, options.connectTimeoutMs, options.abort);
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
