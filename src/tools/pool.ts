import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, extname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { PACKAGE_ROOT } from '../config/project.js';
import { CompozyError } from '../errors.js';
import { plural } from '../platform/plural.js';
import { withParentDeathSignal } from '../supervisor/child-process.js';
import { frame, FrameReader, KEY_BYTES, macKey, MAX_REPLY_FRAME_BYTES, MAX_RESULT_BYTES, verifiedText, type CallMessage, type ReplyMessage } from './protocol.js';
import { bunApiHint } from './bun.js';
import { encodeCall, type CallEncoding } from './worker-channel.js';

/** The built worker script (npm run build writes it), also when this module runs from source in tests. */
const WORKER_MAIN = join(PACKAGE_ROOT, 'dist', 'tools', 'worker-main.js');
const WATCHDOG = join(PACKAGE_ROOT, 'dist', 'tools', 'watchdog.js');

export interface PoolOptions {
  /** The project's tool module (.ts runs directly on Node 24). */
  entrypoint: string;
  /** Warm processes kept ready (default 2). */
  size?: number;
  env: NodeJS.ProcessEnv;
  /**
   * Extra Node flags (the permission model), worked out each time the pool starts or reloads; a
   * CompozyError thrown here (a grant the sandbox refuses) makes the pool down with it.
   */
  execArgv?: () => string[];
  /** The runtime that runs the worker (default: this Node), and how calls are encoded for it (default v8). */
  command?: string;
  encoding?: CallEncoding;
  cwd: string;
  /** Each line a tool writes to stdout or stderr, with the pid that wrote it. */
  onOutput?: (line: string, stream: 'stdout' | 'stderr', pid: number) => void;
  /** How often the entrypoint and its package.json scope are checked for changes, in ms (default 500; 0: never reload). */
  watchIntervalMs?: number;
  /** Told when the entrypoint loads, fails to load, or is reloaded after a change. */
  onStatus?: (message: string) => void;
}

export type PoolState = 'starting' | 'up' | 'down';

export interface PoolStatus {
  state: PoolState;
  entrypoint: string;
  /** The tool ids the entrypoint exports, once it loaded. */
  tools?: string[];
  /** Why it is down. */
  error?: CompozyError;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  tool: string;
}

interface Slot {
  child: ChildProcess;
  /** The private socket to the process (its fd 3), and the key its replies are signed with. */
  channel: Socket;
  key: KeyObject;
  reader: FrameReader;
  ready: Promise<string[]>;
  /** Settle `ready`: set when the process is spawned. */
  onReady: (tools: string[]) => void;
  onLoadFailed: (message: Extract<ReplyMessage, { type: 'load-failed' }>) => void;
  /** The process broke the protocol before it was ready (it is being killed). */
  violation: CompozyError | undefined;
  busy: Pending & { id: number } | undefined;
  stderrTail: string;
  /** Replaced by a reload or stopped by close: it finishes its call, if any, and is not replaced. */
  retired: boolean;
  /** The process reported that the entrypoint did not load (it exits next). */
  loadFailed: boolean;
  /** The entrypoint loaded in this process; before that, its `ready` rejection fails a waiting call. */
  loaded: boolean;
}

interface Queued {
  message: Omit<CallMessage, 'id'>;
  timeoutMs: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** How long an unterminated line waits for the rest of it before it is logged as it is. */
const PARTIAL_LINE_MS = 200;

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** The package.json files that decide whether a .js/.ts file in `dir` is an ES module: each one up to the nearest that exists. */
function packageScope(dir: string): string[] {
  const files: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    const file = join(current, 'package.json');
    files.push(file);
    if (existsSync(file) || dirname(current) === current) return files;
  }
}

/** The nearest package.json and its "type" (undefined when unset: Node then detects ES module syntax itself). */
function moduleType(entrypoint: string): { file: string | undefined; type: string | undefined } {
  const file = packageScope(dirname(entrypoint)).find(existsSync);
  if (!file) return { file, type: undefined };
  try {
    const type = (JSON.parse(readFileSync(file, 'utf8')) as { type?: unknown }).type;
    return { file, type: typeof type === 'string' ? type : undefined };
  } catch {
    return { file, type: undefined };
  }
}

/** Where `node --check` places a syntax error in a JavaScript file, for errors the ES module loader reports without a line. */
async function syntaxLocation(file: string): Promise<string | undefined> {
  const { execa } = await import('execa');
  const { stderr } = await execa(process.execPath, ['--check', file], { timeout: 10_000, reject: false });
  const match = /^((?:file:\/\/)?\/[^\n]*?):(\d+)$/m.exec(stderr);
  return match ? `${match[1]?.replace(/^file:\/\//, '')}:${match[2]}` : undefined;
}

/**
 * A warm pool of Node (or, with `command` and the json encoding, Bun) processes running project tools, one call per process at a time. A call that
 * times out kills its process; a process that crashes fails its call; either way a fresh process
 * takes the slot, so the pool heals. An entrypoint that cannot load fails every call at once with
 * TOOL_ENTRYPOINT_FAILED until the file (or the package.json that scopes it) changes, which reloads it.
 *
 * Tool processes never outlive the pool's owner: on Linux the kernel kills them when it dies
 * (setpriv --pdeathsig), and a watchdog process, which does not share a tool's event loop, kills
 * them when its pipe from the owner closes.
 */
export class ToolPool {
  private slots: Slot[] = [];
  private readonly retiring = new Set<Slot>();
  private readonly queue: Queued[] = [];
  private nextId = 1;
  private closed = false;
  private closing: Promise<void> | undefined;
  private loadFailure: CompozyError | undefined;
  private loadedTools: string[] | undefined;
  private execArgv: string[] = [];
  private watched: string[] = [];
  private reloadTimer: NodeJS.Timeout | undefined;
  private firstPoll: NodeJS.Timeout | undefined;
  private readonly watchdog: ChildProcessByStdio<Writable, null, null>;

  constructor(private readonly options: PoolOptions) {
    this.watchdog = this.startWatchdog();
    this.start();
    this.watch();
  }

  private startWatchdog(): ChildProcessByStdio<Writable, null, null> {
    // The entrypoint is only a label, so `ps` says which project's pool this watchdog guards.
    const watchdog = spawn(process.execPath, [WATCHDOG, WORKER_MAIN, this.options.entrypoint], { stdio: ['pipe', 'ignore', 'inherit'] });
    watchdog.stdin.on('error', () => undefined);
    watchdog.on('error', () => undefined);
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
    return watchdog;
  }

  private tellWatchdog(line: string): void {
    if (this.watchdog.stdin.writable) this.watchdog.stdin.write(`${line}\n`);
  }

  private start(): void {
    if (!existsSync(this.options.entrypoint)) {
      this.fail(this.entrypointFailed('the file does not exist.'));
      return;
    }
    try {
      this.execArgv = this.options.execArgv?.() ?? [];
    } catch (error) {
      if (!(error instanceof CompozyError)) throw error;
      this.fail(error);
      return;
    }
    this.slots = [this.spawn()];
  }

  private fail(error: CompozyError): void {
    if (this.loadFailure) return;
    this.loadFailure = error;
    this.options.onStatus?.(`${error.message}${error.hint ? ` (${error.hint})` : ''}`);
    this.failQueue(error);
  }

  private spawn(): Slot {
    const node = withParentDeathSignal(this.options.command ?? process.execPath, [...this.execArgv, WORKER_MAIN, this.options.entrypoint], 'KILL');
    const child = spawn(node.command, node.args, {
      cwd: this.options.cwd,
      env: this.options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const channel = child.stdio[3] as Socket;
    const key = randomBytes(KEY_BYTES);
    const slot: Slot = {
      child,
      channel,
      key: macKey(key),
      reader: new FrameReader(MAX_REPLY_FRAME_BYTES, (payload) => this.onFrame(slot, payload), (announced) => this.violation(slot, 'TOOL_RESULT_TOO_LARGE', `its process sent a ${announced}-byte message; a result may be at most ${MAX_RESULT_BYTES} bytes`)),
      ready: Promise.resolve([]),
      onReady: () => undefined,
      onLoadFailed: () => undefined,
      violation: undefined,
      busy: undefined,
      stderrTail: '',
      retired: false,
      loadFailed: false,
      loaded: false,
    };
    // A process that died takes its socket with it; the exit handler reports that.
    channel.on('error', () => undefined);
    channel.on('data', (chunk: Buffer) => slot.reader.push(chunk));
    channel.write(frame(key));
    const pid = child.pid ?? -1;
    if (pid > 0) this.tellWatchdog(`+${pid}`);
    const lines = (stream: 'stdout' | 'stderr') => {
      let partial = '';
      let idle: NodeJS.Timeout | undefined;
      // A last line without a newline is still output: it is written once the stream goes quiet or ends.
      const flush = () => {
        clearTimeout(idle);
        if (partial !== '') this.options.onOutput?.(partial, stream, pid);
        partial = '';
      };
      const source = child[stream];
      source?.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        if (stream === 'stderr') slot.stderrTail = (slot.stderrTail + text).slice(-4000);
        const parts = (partial + text).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.options.onOutput?.(line, stream, pid);
        clearTimeout(idle);
        if (partial !== '') idle = setTimeout(flush, PARTIAL_LINE_MS).unref();
      });
      source?.on('end', flush);
    };
    lines('stdout');
    lines('stderr');
    slot.ready = new Promise<string[]>((resolve, reject) => {
      slot.onReady = (tools) => {
        slot.loaded = true;
        resolve(tools);
      };
      slot.onLoadFailed = (message) => {
        slot.loadFailed = true;
        void this.loadError(message).then(reject);
      };
      const early = (detail: string) => () => {
        if (slot.loadFailed) return;
        if (slot.violation) reject(this.entrypointFailed(slot.violation.message));
        else if (slot.retired || this.closed) reject(new CompozyError('TOOL_CRASHED', 'The tool process was stopped before it was ready (the pool closed or reloaded).', { hint: 'Retry the call.' }));
        else reject(this.entrypointFailed(`${detail} ${slot.stderrTail.trim().split('\n').slice(-5).join(' | ')}`.trim()));
      };
      child.once('exit', (code, signal) => early(`the tool process exited before it was ready (${signal ?? `code ${code}`}).`)());
      child.once('error', (error) => early(`the tool process did not start: ${error.message}.`)());
    });
    slot.ready.then(
      (tools) => {
        if (slot.retired) return;
        if (!this.loadedTools) {
          this.loadedTools = tools;
          this.options.onStatus?.(`tool entrypoint ${this.options.entrypoint} loaded: ${plural(tools.length, 'tool')}${tools.length ? ` (${tools.join(', ')})` : ''}`);
        }
        this.dispatch();
      },
      (error: CompozyError) => {
        if (slot.retired || this.closed || error.code !== 'TOOL_ENTRYPOINT_FAILED') return;
        this.fail(error);
      },
    );
    child.once('exit', (code, signal) => this.onExit(slot, code, signal));
    child.once('error', () => {
      if (child.exitCode === null) this.onExit(slot, 127, null);
    });
    return slot;
  }

  private async loadError(message: Extract<ReplyMessage, { type: 'load-failed' }>): Promise<CompozyError> {
    const { entrypoint } = this.options;
    let location = message.location;
    if (message.syntax && !location && /\.[cm]?js$/.test(entrypoint)) location = await syntaxLocation(entrypoint);
    const where = location ? ` (at ${location})` : '';
    const scope = moduleType(entrypoint);
    const esmSyntax = message.syntax && /Unexpected token 'export'|Cannot use import statement outside a module/.test(message.message);
    if (esmSyntax && scope.file && scope.type === 'commonjs' && /\.(ts|js)$/.test(extname(entrypoint))) {
      return new CompozyError('TOOL_ENTRYPOINT_FAILED', `Cannot load the tool entrypoint ${entrypoint}: ${message.message}${where}. It uses ES module syntax, but ${scope.file} says "type": "commonjs", so Node loads it as CommonJS.`, {
        hint: `Set "type": "module" in ${scope.file}, or rename the entrypoint to ${extname(entrypoint) === '.ts' ? '.mts' : '.mjs'}; the pool reloads it when the file changes.`,
        ...(location ? { details: { location } } : {}),
      });
    }
    return this.entrypointFailed(`${message.message}${where}`, location);
  }

  private entrypointFailed(detail: string, location?: string): CompozyError {
    return new CompozyError('TOOL_ENTRYPOINT_FAILED', `Cannot load the tool entrypoint ${this.options.entrypoint}: ${detail}`, {
      hint: bunApiHint(detail) ?? 'Check that the file exists, that it exports the tools (default export {id: fn} or named exports), and that it runs under the project runtime.type (node or bun); the pool reloads it when the file changes.',
      ...(location ? { details: { location } } : {}),
    });
  }

  /** Polls the entrypoint and its package.json scope; a change reloads every process. */
  private watch(): void {
    const interval = this.options.watchIntervalMs ?? 500;
    if (interval <= 0 || this.closed) return;
    this.watched = [this.options.entrypoint, ...packageScope(dirname(this.options.entrypoint))];
    const before = this.watched.map(fileVersion);
    for (const file of this.watched) watchFile(file, { interval, persistent: false }, this.onFileChange);
    // watchFile takes its own first stat later, off the thread pool: a file written before that stat
    // (an entrypoint created right after a failed load) would be its baseline and never seen to change.
    this.firstPoll = setTimeout(() => {
      if (this.watched.some((file, i) => fileVersion(file) !== before[i])) this.reloadSoon();
    }, interval);
    this.firstPoll.unref();
  }

  private unwatch(): void {
    for (const file of this.watched) unwatchFile(file, this.onFileChange);
    this.watched = [];
    clearTimeout(this.reloadTimer);
    clearTimeout(this.firstPoll);
  }

  private readonly onFileChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    this.reloadSoon();
  };

  private reloadSoon(): void {
    clearTimeout(this.reloadTimer);
    // Editors write in steps (truncate, write, rename): reload once the file settles.
    this.reloadTimer = setTimeout(() => this.reload(), 150);
    this.reloadTimer.unref();
  }

  /** Replaces every process with one that loads the entrypoint afresh; calls in progress finish on their old process. */
  reload(): void {
    if (this.closed) return;
    this.options.onStatus?.(`tool entrypoint ${this.options.entrypoint} changed; reloading the tool pool`);
    this.unwatch();
    this.loadFailure = undefined;
    this.loadedTools = undefined;
    for (const slot of this.slots) this.retire(slot);
    this.slots = [];
    this.start();
    this.watch();
    this.dispatch();
  }

  private retire(slot: Slot): void {
    slot.retired = true;
    if (!isRunning(slot.child)) return;
    this.retiring.add(slot);
    if (!slot.busy) slot.child.kill('SIGTERM');
  }

  /** One frame from a process: taken only when its MAC is the process's key, else the process is killed. */
  private onFrame(slot: Slot, payload: Buffer): void {
    const text = verifiedText(slot.key, payload);
    let message: ReplyMessage | undefined;
    try {
      message = text === undefined ? undefined : (JSON.parse(text) as ReplyMessage);
    } catch {
      message = undefined;
    }
    if (!message) {
      this.violation(slot, 'TOOL_CRASHED', 'its process sent a message on the result channel that the worker runtime did not sign (written by the tool itself?); it was refused');
      return;
    }
    if (message.type === 'ready' || message.type === 'load-failed') {
      if (slot.loaded || slot.loadFailed) return;
      if (message.type === 'ready') slot.onReady(message.tools);
      else slot.onLoadFailed(message);
      return;
    }
    this.onReply(slot, message);
  }

  /** The process broke the protocol (a message too large, or not signed): its call fails and it is killed. */
  private violation(slot: Slot, code: 'TOOL_CRASHED' | 'TOOL_RESULT_TOO_LARGE', detail: string): void {
    slot.reader.stop();
    const pending = slot.loaded ? slot.busy : undefined;
    const error = new CompozyError(code, `${pending ? `Tool "${pending.tool}": ` : ''}${detail}; the process was killed.`, {
      hint: code === 'TOOL_RESULT_TOO_LARGE' ? `Return less than ${MAX_RESULT_BYTES} bytes of JSON (write large data to a file and return its path).` : 'Tools return their result; they must not write to the worker channel (fd 3).',
    });
    if (pending) {
      slot.busy = undefined;
      clearTimeout(pending.timer);
      pending.reject(error);
    } else if (!slot.loaded) {
      slot.violation = error;
    }
    slot.child.kill('SIGKILL');
  }

  private onReply(slot: Slot, message: ReplyMessage): void {
    if (message.type !== 'result' && message.type !== 'error') return;
    const pending = slot.busy;
    if (!pending || pending.id !== message.id) return;
    slot.busy = undefined;
    clearTimeout(pending.timer);
    if (message.type === 'result') pending.resolve(message.value);
    else pending.reject(new CompozyError(message.code, `Tool "${pending.tool}": ${message.message}`, { hint: message.code === 'TOOL_FAILED' ? (bunApiHint(message.message) ?? 'The tool threw; see its message and the tool log.') : 'Fix the tool.', details: message.stack ? { stack: message.stack } : {} }));
    if (slot.retired && !this.closed) slot.child.kill('SIGTERM');
    this.dispatch();
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child.pid) this.tellWatchdog(`-${slot.child.pid}`);
    this.retiring.delete(slot);
    const index = this.slots.indexOf(slot);
    // A call waiting for the entrypoint is failed by the `ready` rejection, with the load error.
    const pending = slot.loaded ? slot.busy : undefined;
    if (pending) {
      slot.busy = undefined;
      clearTimeout(pending.timer);
      const tail = slot.stderrTail.trim().split('\n').slice(-5).join('\n');
      pending.reject(
        this.closed
          ? new CompozyError('TOOL_CRASHED', `Tool "${pending.tool}" was stopped: the tool pool closed (the server is stopping) while it ran.`, { hint: 'The task is retried by its retry policy when the platform runs again.' })
          : new CompozyError('TOOL_CRASHED', `Tool "${pending.tool}" crashed its process (${signal ?? `exit code ${code}`}).${tail ? `\n${tail}` : ''}`, { hint: 'See the tool log; the process was replaced.' }),
      );
    }
    // A process that died before its entrypoint loaded is a load failure (reported by `ready`), not replaced.
    if (index < 0 || slot.retired || !slot.loaded || this.closed || this.loadFailure) return;
    this.slots[index] = this.spawn();
    this.dispatch();
  }

  call(tool: string, input: unknown, config: unknown, env: Record<string, string>, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new CompozyError('TOOL_CRASHED', 'The tool pool is closed.', { hint: 'Start a new pool.' }));
    if (this.loadFailure) return Promise.reject(this.loadFailure);
    return new Promise((resolve, reject) => {
      this.queue.push({ message: { type: 'call', tool, input, config, env }, timeoutMs, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Hands waiting calls to free processes. Until the entrypoint has loaded in one of them, a call
   * waits on a process still loading; after that, only loaded processes take calls, and the pool grows
   * while calls wait (grow), so a call takes whichever comes first: a busy process freed or a new one.
   */
  private dispatch(): void {
    const loaded = this.slots.some((slot) => slot.loaded);
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      // A process killed (a timeout, a protocol violation) but not yet exited takes no call: its replacement will.
      if (slot.busy || !isRunning(slot.child) || slot.child.killed || (loaded && !slot.loaded)) continue;
      const job = this.queue.shift() as Queued;
      const id = this.nextId++;
      const pending: Pending & { id: number } = { id, tool: job.message.tool, resolve: job.resolve, reject: job.reject, timer: undefined };
      slot.busy = pending;
      // Wait for the entrypoint to load before sending; a load failure fails the call. The timeout counts from the send.
      slot.ready.then(
        () => {
          if (slot.busy?.id !== id) return;
          try {
            slot.channel.write(frame(encodeCall({ ...job.message, id } satisfies CallMessage, this.options.encoding ?? 'v8')));
          } catch (error) {
            slot.busy = undefined;
            job.reject(
              new CompozyError('TOOL_INPUT_INVALID', `Tool "${job.message.tool}" could not be sent its input: ${(error as Error).message}.`, {
                hint: 'Tool input and config must be plain data the process channel can serialize (no values nested thousands of levels deep).',
              }),
            );
            this.dispatch();
            return;
          }
          pending.timer = setTimeout(() => {
            if (slot.busy?.id !== id) return;
            slot.busy = undefined;
            job.reject(new CompozyError('TOOL_TIMEOUT', `Tool "${job.message.tool}" did not finish within ${job.timeoutMs} ms; its process was killed.`, { hint: 'Raise the tool timeout (tool timeout: or runtime.tool_execution_timeout), or make the tool faster.' }));
            slot.child.kill('SIGKILL');
          }, job.timeoutMs);
        },
        (error: Error) => {
          if (slot.busy?.id !== id) return;
          slot.busy = undefined;
          job.reject(error);
        },
      );
    }
    if (loaded) this.grow();
  }

  /**
   * The pool starts with one process and adds one per waiting call, up to its size, once the entrypoint
   * has loaded (dispatch calls it then): a project whose tool calls never overlap runs one process, not `size`.
   */
  private grow(): void {
    if (this.queue.length === 0 || this.closed || this.loadFailure) return;
    const starting = this.slots.filter((slot) => !slot.loaded && isRunning(slot.child)).length;
    for (let missing = Math.min(this.queue.length - starting, (this.options.size ?? 2) - this.slots.length); missing > 0; missing--) this.slots.push(this.spawn());
  }

  private failQueue(error: Error): void {
    for (const job of this.queue.splice(0)) job.reject(error);
  }

  /** Tool ids the entrypoint exports. */
  async tools(): Promise<string[]> {
    const first = this.slots[0];
    if (!first) throw this.loadFailure ?? new CompozyError('TOOL_CRASHED', 'The tool pool is closed.', { hint: 'Start a new pool.' });
    return first.ready;
  }

  /** Whether the entrypoint loaded, for the health report. */
  status(): PoolStatus {
    const { entrypoint } = this.options;
    if (this.loadFailure) return { state: 'down', entrypoint, error: this.loadFailure };
    if (this.closed) return { state: 'down', entrypoint, error: new CompozyError('TOOL_CRASHED', 'The tool pool is closed.') };
    if (this.loadedTools) return { state: 'up', entrypoint, tools: this.loadedTools };
    return { state: 'starting', entrypoint };
  }

  pids(): number[] {
    return this.slots.map((slot) => slot.child.pid ?? -1);
  }

  watchdogPid(): number | undefined {
    return this.watchdog.pid;
  }

  /** Stops every tool process: TERM, then KILL after graceMs, also when a tool is busy in a loop. */
  close(graceMs = 2000): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.unwatch();
      this.failQueue(new CompozyError('TOOL_CRASHED', 'The tool pool closed before the call ran.', { hint: 'Retry with a running pool.' }));
      const all = [...this.slots, ...this.retiring];
      await Promise.all(
        all.map(
          (slot) =>
            new Promise<void>((resolve) => {
              if (!isRunning(slot.child)) return resolve();
              const kill = setTimeout(() => slot.child.kill('SIGKILL'), graceMs);
              slot.child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              slot.child.kill('SIGTERM');
            }),
        ),
      );
      this.watchdog.stdin.end();
    })();
    return this.closing;
  }
}

/** What a watched file is now (modified time, inode, size), or that it does not exist. */
function fileVersion(file: string): string {
  const stats = statSync(file, { throwIfNoEntry: false });
  return stats ? `${stats.mtimeMs}:${stats.ino}:${stats.size}` : 'missing';
}
