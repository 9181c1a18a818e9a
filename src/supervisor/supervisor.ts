import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompozyError, errorMessage } from '../errors.js';
import type { HealthReport } from '../health.js';
import { writeRunState, removeRunState, type ChildRecord, type RunState } from '../platform/run-state.js';
import { devServerArgs } from '../temporal/dev-server.js';
import { waitForTemporal } from '../temporal/readiness.js';
import { spawnChild, exitDescription, type ChildExit, type ChildSpec, type RunningChild } from './child-process.js';
import { LogMux } from './log-mux.js';
import { reapStaleRun } from './reaper.js';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';

export type DevEvent =
  | { event: 'starting'; project: string; mode: string; apiUrl: string; temporalAddress: string; components: string[] }
  | { event: 'ready'; health: HealthReport; apiUrl: string; temporalAddress: string; temporalUiUrl?: string }
  | { event: 'restart'; component: string; restarts: number; exitCode: number | null; signal: string | null; delayMs: number }
  | { event: 'exit'; code: number; reason: string };

export interface SupervisorOptions {
  projectName: string;
  projectDir: string;
  stateDir: string;
  mode: string;
  temporalBin: string;
  temporalVersion: string;
  temporalPort: number;
  uiPort?: number | undefined;
  namespace: string;
  apiHost: string;
  apiPort: number;
  /** Command that runs `compozy serve` (node + bin/compozy.js). */
  serveCommand: { command: string; args: string[] };
  /** Human narration (undefined in --json mode). */
  narrate?: ((line: string) => void) | undefined;
  /** JSON Lines events (--json mode). */
  emit?: ((event: DevEvent) => void) | undefined;
  /** Prints the health table (human mode). */
  showHealth?: ((report: HealthReport) => void) | undefined;
  logOut: NodeJS.WritableStream;
  color: boolean;
  temporalReadyTimeoutMs?: number;
  serveReadyTimeoutMs?: number;
  stopGraceMs?: number;
  restartPolicy?: Partial<RestartPolicyOptions>;
}

interface Component {
  name: 'temporal' | 'serve';
  spec: ChildSpec;
  signature: string[];
  policy: RestartPolicy;
  child?: RunningChild;
  record: ChildRecord;
  waitReady(child: RunningChild, abort: AbortSignal): Promise<void>;
}

function childExitAbort(child: RunningChild, name: string): AbortController {
  const controller = new AbortController();
  void child.exited.then((exit) => controller.abort(new CompozyError('PROCESS_START_FAILED', `${name} exited during start-up (${exitDescription(exit)}).`)));
  return controller;
}

async function waitHttpReady(url: string, timeoutMs: number, abort: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (abort.aborted) throw abort.reason;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
      last = `${response.status} ${((await response.json()) as { reason?: string }).reason ?? ''}`.trim();
    } catch (error) {
      last = errorMessage(error);
    }
    await sleep(25);
  }
  throw new CompozyError('PROCESS_START_FAILED', `serve did not become ready at ${url} within ${Math.round(timeoutMs / 1000)} s (${last}).`);
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/**
 * `compozy dev`: runs the Temporal dev server and `compozy serve` as children, gates on their
 * readiness, restarts crashes with backoff and stops both in order on a signal. Resolves with the
 * exit code.
 */
export class Supervisor {
  private readonly mux: LogMux;
  private readonly components: Component[];
  private readonly apiUrl: string;
  private readonly temporalAddress: string;
  private readonly startedAt = new Date().toISOString();
  private stopping = false;
  /** Set once the first start-up succeeded; crashes before that end the run instead of restarting. */
  private live = false;
  private readonly shutdownController = new AbortController();
  private resolveExit!: (code: number) => void;
  readonly exitCode: Promise<number>;

  constructor(private readonly options: SupervisorOptions) {
    this.apiUrl = `http://${options.apiHost}:${options.apiPort}`;
    this.temporalAddress = `127.0.0.1:${options.temporalPort}`;
    this.mux = new LogMux({ names: ['temporal', 'serve'], color: options.color, out: options.logOut, logDir: join(options.stateDir, 'logs') });
    this.exitCode = new Promise((resolvePromise) => (this.resolveExit = resolvePromise));
    const temporalArgs = devServerArgs({ port: options.temporalPort, namespace: options.namespace, stateDir: options.stateDir, cliVersion: options.temporalVersion, uiPort: options.uiPort });
    const serveEnv: NodeJS.ProcessEnv = {
      ...process.env,
      COMPOZY_SUPERVISOR_PID: String(process.pid),
      COMPOZY_TEMPORAL_BACKEND: `embedded dev server (CLI ${options.temporalVersion})`,
      FORCE_COLOR: '0',
    };
    this.components = [
      {
        name: 'temporal',
        spec: { name: 'temporal', command: options.temporalBin, args: temporalArgs, cwd: options.projectDir },
        signature: ['server', 'start-dev', `--port ${options.temporalPort}`],
        policy: new RestartPolicy(options.restartPolicy),
        record: { state: 'starting', restarts: 0, logFile: this.mux.logFile('temporal'), signature: ['server', 'start-dev', `--port ${options.temporalPort}`] },
        waitReady: (_child, abort) => waitForTemporal(this.temporalAddress, options.namespace, { timeoutMs: options.temporalReadyTimeoutMs ?? 30_000, abort }),
      },
      {
        name: 'serve',
        spec: {
          name: 'serve',
          command: options.serveCommand.command,
          args: [...options.serveCommand.args, 'serve', options.projectDir, '--host', options.apiHost, '--port', String(options.apiPort), '--temporal-address', this.temporalAddress, '--mode', options.mode],
          env: serveEnv,
          cwd: options.projectDir,
        },
        signature: ['serve', `--port ${options.apiPort}`],
        policy: new RestartPolicy(options.restartPolicy),
        record: { state: 'starting', restarts: 0, logFile: this.mux.logFile('serve'), signature: ['serve', `--port ${options.apiPort}`] },
        waitReady: (_child, abort) => waitHttpReady(`${this.apiUrl}/readyz`, options.serveReadyTimeoutMs ?? 60_000, abort),
      },
    ];
  }

  private get temporalUiUrl(): string | undefined {
    return this.options.uiPort === undefined ? undefined : `http://127.0.0.1:${this.options.uiPort}`;
  }

  private saveState(): void {
    const state: RunState = {
      version: 1,
      supervisorPid: process.pid,
      project: this.options.projectName,
      projectDir: this.options.projectDir,
      mode: this.options.mode,
      startedAt: this.startedAt,
      apiUrl: this.apiUrl,
      temporalAddress: this.temporalAddress,
      ...(this.temporalUiUrl ? { temporalUiUrl: this.temporalUiUrl } : {}),
      children: Object.fromEntries(this.components.map((component) => [component.name, component.record])),
    };
    writeRunState(this.options.stateDir, state);
  }

  private narrate(line: string): void {
    this.options.narrate?.(line);
  }

  private launch(component: Component): RunningChild {
    const child = spawnChild(component.spec, (chunk) => this.mux.write(component.name, chunk));
    component.child = child;
    component.record = { ...component.record, pid: child.pid, state: 'starting' };
    this.saveState();
    void child.exited.then((exit) => this.onExit(component, child, exit));
    return child;
  }

  private async waitReady(component: Component, child: RunningChild): Promise<void> {
    const abort = childExitAbort(child, component.name);
    const onShutdown = () => abort.abort(new CompozyError('PROCESS_START_FAILED', 'stopping'));
    this.shutdownController.signal.addEventListener('abort', onShutdown, { once: true });
    try {
      await component.waitReady(child, abort.signal);
    } finally {
      this.shutdownController.signal.removeEventListener('abort', onShutdown);
    }
    component.record = { ...component.record, state: 'up' };
    this.saveState();
  }

  async run(): Promise<number> {
    const { stateDir } = this.options;
    mkdirSync(stateDir, { recursive: true });
    const stale = await reapStaleRun(stateDir);
    if (stale.kind === 'running') {
      throw new CompozyError('ALREADY_RUNNING', `compozy dev is already running for this project (pid ${stale.state.supervisorPid}, API ${stale.state.apiUrl}).`, {
        hint: 'Use `compozy status` to see it, or stop it before starting another.',
      });
    }
    if (stale.kind === 'reaped' && stale.pids.length > 0) this.narrate(`! Stopped ${stale.pids.length} process(es) left by a previous run that was killed (pids ${stale.pids.join(', ')})`);

    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        // A second signal while stopping means "now": skip the grace periods.
        if (this.stopping) this.killAll();
        else void this.shutdown(0, `received ${signal}`);
      });
    }

    this.options.emit?.({ event: 'starting', project: this.options.projectName, mode: this.options.mode, apiUrl: this.apiUrl, temporalAddress: this.temporalAddress, components: this.components.map((c) => c.name) });
    const [temporal, serve] = this.components as [Component, Component];
    const started = Date.now();
    this.narrate(`• Starting Temporal dev server (CLI ${this.options.temporalVersion}) on ${this.temporalAddress}…`);
    const temporalChild = this.launch(temporal);
    // serve starts alongside: its worker keeps retrying until Temporal answers, which hides Node's start-up time.
    this.narrate(`• Starting API and worker (compozy serve) on ${this.apiUrl}…`);
    const serveChild = this.launch(serve);
    try {
      await this.waitReady(temporal, temporalChild);
      this.narrate(`✔ Temporal ready on ${this.temporalAddress} (${((Date.now() - started) / 1000).toFixed(1)} s)${this.temporalUiUrl ? `, UI at ${this.temporalUiUrl}` : ''}`);
      await this.waitReady(serve, serveChild);
      this.narrate(`✔ API ready on ${this.apiUrl}, worker polling (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      if (this.stopping) return this.exitCode;
      const failed = this.components.find((c) => c.record.state !== 'up') ?? temporal;
      const message = `${failed.name} failed to start: ${errorMessage(error)}`;
      // Shown even with --json (on the log stream, stderr): the reason alone rarely says what to fix.
      const details = `✗ ${message}\n  Last lines of ${failed.record.logFile}:\n${tail(failed.record.logFile, 20).replace(/^/gm, '    ')}`;
      if (this.options.narrate) this.options.narrate(details);
      else this.options.logOut.write(`${details}\n`);
      await this.shutdown(1, message);
      return this.exitCode;
    }
    this.live = true;
    await this.reportHealth();
    return this.exitCode;
  }

  private async reportHealth(): Promise<void> {
    let health: HealthReport;
    try {
      const response = await fetch(`${this.apiUrl}/api/v0/health`, { signal: AbortSignal.timeout(5000) });
      health = ((await response.json()) as { data: HealthReport }).data;
    } catch (error) {
      this.narrate(`! Could not read health from ${this.apiUrl}/api/v0/health: ${errorMessage(error)}`);
      return;
    }
    if (this.stopping) return;
    this.options.showHealth?.(health);
    this.options.emit?.({ event: 'ready', health, apiUrl: this.apiUrl, temporalAddress: this.temporalAddress, ...(this.temporalUiUrl ? { temporalUiUrl: this.temporalUiUrl } : {}) });
  }

  private async onExit(component: Component, child: RunningChild, exit: ChildExit): Promise<void> {
    this.mux.flush(component.name);
    if (this.stopping || !this.live || component.child !== child) return;
    const decision = component.policy.recordCrash(Date.now());
    component.record = { ...component.record, state: 'crashed', lastExitCode: exit.code, restarts: component.record.restarts };
    if (decision.action === 'give-up') {
      const reason = `${component.name} ${decision.reason} (last exit: ${exitDescription(exit)}); giving up. Log: ${component.record.logFile}`;
      this.narrate(`✗ ${reason}`);
      await this.shutdown(1, reason);
      return;
    }
    const restarts = component.record.restarts + 1;
    component.record = { ...component.record, state: 'restarting', restarts };
    this.saveState();
    this.mux.note(component.name, `exited (${exitDescription(exit)}); restarting in ${decision.delayMs} ms (restart ${restarts})`);
    this.options.emit?.({ event: 'restart', component: component.name, restarts, exitCode: exit.code, signal: exit.signal, delayMs: decision.delayMs });
    await sleep(decision.delayMs);
    if (this.stopping) return;
    const next = this.launch(component);
    try {
      await this.waitReady(component, next);
    } catch {
      // A replacement that dies during start-up is handled by its own exit, like any crash.
      return;
    }
    if (!this.stopping) await this.reportHealth();
  }

  private killAll(): void {
    this.narrate('• Second signal: killing children now');
    for (const component of this.components) void component.child?.stop(0);
  }

  /** Stops serve, then Temporal (TERM, grace, KILL), and settles the exit code. */
  async shutdown(code: number, reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.shutdownController.abort();
    this.narrate(`• Stopping (${reason})…`);
    const grace = this.options.stopGraceMs ?? 10_000;
    for (const component of [...this.components].reverse()) {
      if (!component.child) continue;
      this.mux.mute(component.name);
      const exit = await component.child.stop(grace);
      component.record = { ...component.record, state: 'stopped', lastExitCode: exit.code };
    }
    await this.mux.close();
    removeRunState(this.options.stateDir);
    this.options.emit?.({ event: 'exit', code, reason });
    this.narrate(code === 0 ? '✔ Stopped.' : `✗ Exited: ${reason}`);
    this.resolveExit(code);
  }
}
