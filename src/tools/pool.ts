import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../config/project.js';
import { CompozyError } from '../errors.js';
import type { CallMessage, ReplyMessage } from './protocol.js';

/** The built worker script (npm run build writes it), also when this module runs from source in tests. */
const WORKER_MAIN = join(PACKAGE_ROOT, 'dist', 'tools', 'worker-main.js');

export interface PoolOptions {
  /** The project's tool module (.ts runs directly on Node 24). */
  entrypoint: string;
  /** Warm processes kept ready (default 2). */
  size?: number;
  env: NodeJS.ProcessEnv;
  /** Extra Node flags (the permission model). */
  execArgv?: string[];
  cwd: string;
  /** Each line a tool writes to stdout or stderr, with the pid that wrote it. */
  onOutput?: (line: string, stream: 'stdout' | 'stderr', pid: number) => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  tool: string;
}

interface Slot {
  child: ChildProcess;
  ready: Promise<string[]>;
  busy: Pending & { id: number } | undefined;
  stderrTail: string;
}

interface Queued {
  message: Omit<CallMessage, 'id'>;
  timeoutMs: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * A warm pool of Node processes running project tools, one call per process at a time. A call that
 * times out kills its process; a process that crashes fails its call; either way a fresh process
 * takes the slot, so the pool heals.
 */
export class ToolPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Queued[] = [];
  private nextId = 1;
  private closed = false;
  private loadFailure: CompozyError | undefined;

  constructor(private readonly options: PoolOptions) {
    for (let i = 0; i < (options.size ?? 2); i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const child = fork(WORKER_MAIN, [this.options.entrypoint], {
      cwd: this.options.cwd,
      env: this.options.env,
      execArgv: this.options.execArgv ?? [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const slot: Slot = { child, ready: Promise.resolve([]), busy: undefined, stderrTail: '' };
    const pid = child.pid ?? -1;
    const lines = (stream: 'stdout' | 'stderr') => {
      let partial = '';
      return (chunk: Buffer) => {
        const text = chunk.toString();
        if (stream === 'stderr') slot.stderrTail = (slot.stderrTail + text).slice(-4000);
        const parts = (partial + text).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.options.onOutput?.(line, stream, pid);
      };
    };
    child.stdout?.on('data', lines('stdout'));
    child.stderr?.on('data', lines('stderr'));
    slot.ready = new Promise<string[]>((resolve, reject) => {
      const onMessage = (message: ReplyMessage) => {
        if (message.type === 'ready') {
          child.off('message', onMessage);
          resolve(message.tools);
        } else if (message.type === 'load-failed') {
          child.off('message', onMessage);
          reject(this.entrypointFailed(message.message));
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code, signal) => reject(this.entrypointFailed(`the tool process exited before it was ready (${signal ?? `code ${code}`}). ${slot.stderrTail.trim().split('\n').slice(-5).join(' | ')}`)));
    });
    slot.ready.catch((error: CompozyError) => {
      this.loadFailure = error;
      this.failQueue(error);
    });
    child.on('message', (message: ReplyMessage) => this.onReply(slot, message));
    child.on('exit', (code, signal) => this.onExit(slot, code, signal));
    return slot;
  }

  private entrypointFailed(detail: string): CompozyError {
    return new CompozyError('TOOL_ENTRYPOINT_FAILED', `Cannot load the tool entrypoint ${this.options.entrypoint}: ${detail}`, {
      hint: 'Check that the file exists, that it exports the tools (default export {id: fn} or named exports), and that it runs with node.',
    });
  }

  private onReply(slot: Slot, message: ReplyMessage): void {
    if (message.type !== 'result' && message.type !== 'error') return;
    const pending = slot.busy;
    if (!pending || pending.id !== message.id) return;
    slot.busy = undefined;
    clearTimeout(pending.timer);
    if (message.type === 'result') pending.resolve(message.value);
    else pending.reject(new CompozyError(message.code, `Tool "${pending.tool}": ${message.message}`, { hint: message.code === 'TOOL_FAILED' ? 'The tool threw; see its message and the tool log.' : 'Fix the tool.', details: message.stack ? { stack: message.stack } : {} }));
    this.dispatch();
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    const index = this.slots.indexOf(slot);
    const pending = slot.busy;
    slot.busy = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      const tail = slot.stderrTail.trim().split('\n').slice(-5).join('\n');
      pending.reject(new CompozyError('TOOL_CRASHED', `Tool "${pending.tool}" crashed its process (${signal ?? `exit code ${code}`}).${tail ? `\n${tail}` : ''}`, { hint: 'See the tool log; the process was replaced.' }));
    }
    if (index < 0 || this.closed || this.loadFailure) return;
    this.slots[index] = this.spawn();
    this.dispatch();
  }

  call(tool: string, input: unknown, config: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new CompozyError('TOOL_CRASHED', 'The tool pool is closed.', { hint: 'Start a new pool.' }));
    if (this.loadFailure) return Promise.reject(this.loadFailure);
    return new Promise((resolve, reject) => {
      this.queue.push({ message: { type: 'call', tool, input, config }, timeoutMs, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy || slot.child.exitCode !== null || slot.child.signalCode !== null) continue;
      const job = this.queue.shift() as Queued;
      const id = this.nextId++;
      const timer = setTimeout(() => {
        if (slot.busy?.id !== id) return;
        slot.busy = undefined;
        job.reject(new CompozyError('TOOL_TIMEOUT', `Tool "${job.message.tool}" did not finish within ${job.timeoutMs} ms; its process was killed.`, { hint: 'Raise the tool timeout (tool timeout: or runtime.tool_execution_timeout), or make the tool faster.' }));
        slot.child.kill('SIGKILL');
      }, job.timeoutMs);
      slot.busy = { id, tool: job.message.tool, resolve: job.resolve, reject: job.reject, timer };
      // Wait for the entrypoint to load before sending; a load failure fails the call.
      slot.ready.then(
        () => {
          if (slot.busy?.id === id) slot.child.send({ ...job.message, id });
        },
        (error: Error) => {
          if (slot.busy?.id !== id) return;
          clearTimeout(timer);
          slot.busy = undefined;
          job.reject(error);
        },
      );
    }
  }

  private failQueue(error: Error): void {
    for (const job of this.queue.splice(0)) job.reject(error);
  }

  /** Tool ids the entrypoint exports. */
  async tools(): Promise<string[]> {
    return (this.slots[0] as Slot).ready;
  }

  pids(): number[] {
    return this.slots.map((slot) => slot.child.pid ?? -1);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failQueue(new CompozyError('TOOL_CRASHED', 'The tool pool closed before the call ran.', { hint: 'Retry with a running pool.' }));
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (slot.child.exitCode !== null || slot.child.signalCode !== null) return resolve();
            slot.child.once('exit', () => resolve());
            slot.child.kill('SIGTERM');
          }),
      ),
    );
  }
}
