import { errorMessage } from '../errors.js';
import { shutDown, type ShutdownStep } from '../platform/shutdown.js';
import type { PreparedWorkflows, RunningWorker } from '../temporal/worker.js';
import type { EngineRuntime } from './runtime.js';

/** A running `serve` or `worker` process as its caller holds it. */
export interface ProcessHandle {
  /**
   * Stops it (once, however often it is called) and settles when every shutdown step has run; rejects
   * with a ShutdownError naming the steps that failed (the others still ran).
   */
  stop(): Promise<void>;
  /**
   * Resolves once stop() has finished cleanly; rejects with the reason when the process stops on its own
   * (its worker failed), or with stop()'s ShutdownError.
   */
  stopped: Promise<void>;
}

/** How long a tool process gets to exit on TERM at shutdown before it is killed. */
const TOOL_STOP_GRACE_MS = 2000;

/** What a process closes around its runtime. */
export interface ProcessLayers {
  /** Closed after the worker and before the runtime (the HTTP server). */
  front?: ShutdownStep;
  /** Closed after the runtime, in order (backends it shares with runtimes a reload replaced, an embedded Temporal server it talks to). */
  back?: readonly ShutdownStep[];
}

/**
 * The part of a serve or worker process that is the same in both: the runtime's Temporal worker (when
 * this process runs one), what became of it, and the shutdown order — tools first, since a call stuck in
 * a tool would otherwise hold the worker's shutdown past the supervisor's grace; then the worker, what
 * the process put in front of the runtime (the HTTP server), the runtime's own steps, and what is behind
 * it (an embedded Temporal). A step that fails is logged and the others still run.
 */
export class EngineProcess implements ProcessHandle {
  readonly stopped: Promise<void>;
  private running: RunningWorker | undefined;
  private failure: string | undefined;
  private stopping: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private resolveStopped!: () => void;
  private rejectStopped!: (error: unknown) => void;

  constructor(
    private readonly runtime: EngineRuntime,
    private readonly layers: ProcessLayers = {},
  ) {
    this.stopped = new Promise<void>((resolve, reject) => {
      this.resolveStopped = resolve;
      this.rejectStopped = reject;
    });
    // Observed here so a failure nobody awaits yet is not an unhandled rejection; awaiting `stopped` still sees it.
    this.stopped.catch(() => undefined);
  }

  /** The worker once it started, undefined before. */
  get worker(): RunningWorker | undefined {
    return this.running;
  }

  /** Why the worker is not running when it failed or stopped on its own. */
  get workerFailure(): string | undefined {
    return this.failure;
  }

  /** Whether this process's worker polls its task queue. */
  polling(): boolean {
    return this.running?.state() === 'RUNNING';
  }

  /**
   * Starts the runtime's worker; a failure to start or a later stop that nobody asked for rejects
   * `stopped` (and a failure to start also rejects the promise returned here). `workflows`: the
   * workflow thread prepared for it.
   */
  async startWorker(workflows?: PreparedWorkflows): Promise<RunningWorker> {
    let worker: RunningWorker;
    try {
      worker = await this.runtime.startWorker(this.abort.signal, workflows);
    } catch (error) {
      if (!this.stopping) this.fail(error);
      throw error;
    }
    this.running = worker;
    worker.done.then(
      () => {
        if (!this.stopping) this.fail(new Error('the Temporal worker stopped unexpectedly'), 'worker stopped');
      },
      (error: unknown) => {
        if (!this.stopping) this.fail(error);
      },
    );
    return worker;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort(new Error('the process is stopping'));
      const { front, back } = this.layers;
      try {
        await shutDown(
          [
            [
              { name: 'tools', close: () => this.runtime.stopTools(TOOL_STOP_GRACE_MS) },
              { name: 'worker', close: () => this.running?.shutdown() },
            ],
            ...(front ? [front] : []),
            ...this.runtime.closeSteps(),
            ...(back ?? []),
          ],
          this.runtime.context.log,
        );
      } catch (error) {
        this.rejectStopped(error);
        throw error;
      }
      this.resolveStopped();
    })();
    return this.stopping;
  }

  /**
   * Retires a runtime a project reload replaced: its worker stops polling and finishes the activities
   * it has (the executions go on on the next worker, each on the definition in its own history), then
   * its app (`front`, the requests it still serves), then the runtime's own steps, tools last among
   * them so a tool call in flight completes. The process's layers are not closed: the next runtime
   * has them.
   */
  retire(front: ShutdownStep): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort(new Error('the project was reloaded'));
      try {
        await shutDown([{ name: 'worker', close: () => this.running?.shutdown() }, front, ...this.runtime.closeSteps()], this.runtime.context.log);
      } catch (error) {
        this.rejectStopped(error);
        throw error;
      }
      this.resolveStopped();
    })();
    return this.stopping;
  }

  private fail(error: unknown, reason = errorMessage(error)): void {
    this.failure = reason;
    this.rejectStopped(error);
  }
}
