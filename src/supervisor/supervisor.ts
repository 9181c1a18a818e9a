import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompozyError, errorMessage } from '../errors.js';
import { STATE_DIR_ENV } from '../config/settings.js';
import type { HealthReport } from '../health.js';
import { plural } from '../platform/plural.js';
import { freePort } from '../platform/ports.js';
import { writeRunState, removeRunState, type ChildRecord, type RunState } from '../platform/run-state.js';
import { checkDevServerDb, devServerArgs, devServerDbPath, diagnoseStartFailure, lostItsPort, TEMPORAL_PORT_RETRIES } from '../temporal/dev-server.js';
import { waitForTemporal } from '../temporal/readiness.js';
import { childSpawner, exitDescription, type ChildExit, type ChildSpec, type RunningChild, type SpawnChild } from './child-process.js';
import { startLines, type FirstWorkflow } from './first-lines.js';
import { failureDetails, LogMux } from './log-mux.js';
import { alreadyRunning, reapStaleRun } from './reaper.js';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';
import { isReloadNotice, RUN_NONCE_ENV, SERVE_REPORT_ENV, removeServeReport } from './serve-report.js';
import { readServeHealth, waitForOwnServer, waitForServeReport } from './serve-readiness.js';

export type DevEvent =
  | { event: 'starting'; project: string; mode: string; requestedApiPort: number; temporalAddress: string; components: string[] }
  | { event: 'ready'; health: HealthReport; apiUrl: string; temporalAddress: string; temporalUiUrl?: string; logDir: string }
  | { event: 'restart'; component: string; restarts: number; exitCode: number | null; signal: string | null; delayMs: number }
  /** serve reloaded the project (watch mode); the health after it. */
  | { event: 'reload'; health: HealthReport; apiUrl: string }
  | { event: 'exit'; code: number; reason: string };

export interface SupervisorOptions {
  projectName: string;
  projectDir: string;
  stateDir: string;
  /** temporal.mode memory: the embedded dev server keeps no database file. */
  temporalInMemory?: boolean;
  mode: string;
  temporalBin: string;
  temporalVersion: string;
  /** Also serve the Temporal web UI. */
  temporalUi?: boolean;
  namespace: string;
  apiHost: string;
  /** The API port asked for (flag, env or compozy.yaml) or the default; serve binds it (or, when not asked for, the next free one). */
  api: { port: number; explicit: boolean };
  /** Command that runs `compozy serve` (node + bin/compozy.js). */
  serveCommand: { command: string; args: string[] };
  /** serve reloads the project when its files change (serve --watch). */
  watch?: boolean;
  /** serve logs the Temporal SDK at INFO. */
  verbose?: boolean;
  /** Human narration (undefined in --json mode). */
  narrate?: ((line: string) => void) | undefined;
  /** JSON Lines events (--json mode). */
  emit?: ((event: DevEvent) => void) | undefined;
  /** Prints the health table (human mode). */
  showHealth?: ((report: HealthReport) => void) | undefined;
  /** Prints the API URL, a curl, the log folder and "Ctrl-C to stop" after the first table. */
  showStartLines?: boolean;
  logOut: NodeJS.WritableStream;
  color: boolean;
  temporalReadyTimeoutMs?: number;
  serveReadyTimeoutMs?: number;
  stopGraceMs?: number;
  restartPolicy?: Partial<RestartPolicyOptions>;
  /** How often to check that the process that started us is still there (ms). */
  parentCheckMs?: number;
}

interface Component {
  name: 'temporal' | 'serve';
  spec(): ChildSpec;
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

/**
 * `compozy dev`: runs the Temporal dev server and `compozy serve` as children, gates on their
 * readiness, restarts crashes with backoff and stops both in order on a signal or when the process
 * that started it goes away. Resolves with the exit code.
 */
export class Supervisor {
  private readonly mux: LogMux;
  private components: Component[] = [];
  private apiUrl: string | undefined;
  private apiPort: number | undefined;
  /** The workflow the printed curl starts: the first of the project serve loaded, from its report. */
  private firstWorkflow: FirstWorkflow | undefined;
  private temporalPort = 0;
  /** Temporal's HTTP API, which the supervisor's readiness probe asks (it loads no gRPC client). */
  private temporalHttpPort = 0;
  private uiPort: number | undefined;
  private readonly nonce = randomUUID();
  private launches = 0;
  private readonly startedAt = new Date().toISOString();
  private stopping = false;
  /** Set once the first start-up succeeded; crashes before that end the run instead of restarting. */
  private live = false;
  private readonly shutdownController = new AbortController();
  private resolveExit!: (code: number) => void;
  private parentWatch: NodeJS.Timeout | undefined;
  private spawnChild!: SpawnChild;
  readonly exitCode: Promise<number>;

  constructor(private readonly options: SupervisorOptions) {
    this.mux = new LogMux({ names: ['temporal', 'serve'], color: options.color, out: options.logOut, logDir: this.logDir });
    this.exitCode = new Promise((resolvePromise) => (this.resolveExit = resolvePromise));
  }

  private get logDir(): string {
    return join(this.options.stateDir, 'logs');
  }

  private get temporalAddress(): string {
    return `127.0.0.1:${this.temporalPort}`;
  }

  private get temporalUiUrl(): string | undefined {
    return this.uiPort === undefined ? undefined : `http://127.0.0.1:${this.uiPort}`;
  }

  private get stopGraceMs(): number {
    return this.options.stopGraceMs ?? 10_000;
  }

  private get temporalDb(): string {
    return devServerDbPath(this.options.stateDir, this.options.temporalVersion);
  }

  /** The port arguments of serve's next launch: what was asked for, then the port it had (a restart keeps its URL when it can). */
  private servePortArgs(): string[] {
    const { api } = this.options;
    if (this.apiPort === undefined) return api.explicit ? ['--port', String(api.port)] : [];
    if (api.explicit && api.port !== 0) return ['--port', String(api.port)];
    return ['--port', String(this.apiPort), '--port-fallback'];
  }

  private reportPath(launch: number): string {
    return join(this.options.stateDir, `serve-report.${process.pid}.${launch}.json`);
  }

  private buildComponents(): void {
    const { options } = this;
    const temporalSignature = () => ['server', 'start-dev', `--port ${this.temporalPort}`];
    const temporal: Component = {
      name: 'temporal',
      spec: () => ({
        name: 'temporal',
        command: options.temporalBin,
        args: devServerArgs({ port: this.temporalPort, httpPort: this.temporalHttpPort, namespace: options.namespace, stateDir: options.temporalInMemory ? undefined : options.stateDir, cliVersion: options.temporalVersion, uiPort: this.uiPort }),
        cwd: options.projectDir,
      }),
      policy: new RestartPolicy(options.restartPolicy),
      record: { state: 'starting', restarts: 0, logFile: this.mux.logFile('temporal'), signature: temporalSignature() },
      waitReady: (_child, abort) => waitForTemporal(this.temporalAddress, options.namespace, { timeoutMs: options.temporalReadyTimeoutMs ?? 30_000, abort, httpAddress: `127.0.0.1:${this.temporalHttpPort}` }),
    };
    let reportPath = '';
    const serve: Component = {
      name: 'serve',
      spec: () => {
        reportPath = this.reportPath(++this.launches);
        removeServeReport(reportPath);
        return {
          name: 'serve',
          command: options.serveCommand.command,
          args: [
            ...options.serveCommand.args,
            'serve',
            options.projectDir,
            '--host',
            options.apiHost,
            ...this.servePortArgs(),
            '--temporal-address',
            this.temporalAddress,
            '--mode',
            options.mode,
            ...(options.verbose ? ['--verbose'] : []),
            '--dashboard',
            ...(options.watch ? ['--watch'] : []),
          ],
          env: {
            COMPOZY_SUPERVISOR_PID: String(process.pid),
            [STATE_DIR_ENV]: options.stateDir,
            COMPOZY_TEMPORAL_BACKEND: `embedded dev server (CLI ${options.temporalVersion})`,
            [SERVE_REPORT_ENV]: reportPath,
            [RUN_NONCE_ENV]: this.nonce,
            FORCE_COLOR: '0',
          },
          cwd: options.projectDir,
        };
      },
      policy: new RestartPolicy(options.restartPolicy),
      record: { state: 'starting', restarts: 0, logFile: this.mux.logFile('serve'), signature: ['serve', options.projectDir] },
      waitReady: async (child, abort) => {
        const timeoutMs = options.serveReadyTimeoutMs ?? 60_000;
        const identity = { pid: child.pid, nonce: this.nonce };
        const { url, port, firstWorkflow } = await waitForServeReport(reportPath, identity, timeoutMs, abort);
        this.firstWorkflow = firstWorkflow;
        const moved = this.apiUrl !== undefined && this.apiUrl !== url;
        this.apiUrl = url;
        this.apiPort = port;
        this.saveState();
        if (moved) this.narrate(`! The API moved to ${url} (its port was taken while serve restarted)`);
        await waitForOwnServer(url, identity, timeoutMs, abort);
      },
    };
    this.components = [temporal, serve];
  }

  private saveState(): void {
    const state: RunState = {
      version: 1,
      supervisorPid: process.pid,
      project: this.options.projectName,
      projectDir: this.options.projectDir,
      mode: this.options.mode,
      startedAt: this.startedAt,
      apiUrl: this.apiUrl ?? '',
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
    this.mux.startRun(component.name);
    const child = this.spawnChild(component.spec(), {
      graceMs: this.stopGraceMs,
      onLine: (line) => {
        this.mux.line(component.name, line);
        if (component.name === 'serve' && this.live && isReloadNotice(line)) void this.reportHealth('reload');
      },
    });
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

  /**
   * Temporal to ready. Its port was free when chosen; a dev server that finds it taken by then
   * (another process bound it in between) is started again on a new port, and serve with it.
   */
  private async startTemporal(temporal: Component, serve: Component, first: RunningChild): Promise<void> {
    let child = first;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.waitReady(temporal, child);
        return;
      } catch (error) {
        const lines = this.mux.recent('temporal', 50);
        const exited = await Promise.race([child.exited.then(() => true), sleep(200).then(() => false)]);
        if (this.stopping || !exited || attempt > TEMPORAL_PORT_RETRIES || !lostItsPort(lines)) throw error;
        this.temporalPort = await freePort();
        this.temporalHttpPort = await freePort();
        if (this.uiPort !== undefined) this.uiPort = await freePort();
        temporal.record = { ...temporal.record, signature: ['server', 'start-dev', `--port ${this.temporalPort}`] };
        this.mux.line('temporal', `its port was taken; starting again on ${this.temporalAddress}`);
        child = this.launch(temporal);
        if (serve.child) {
          this.mux.line('serve', `restarting for Temporal on ${this.temporalAddress}`);
          await serve.child.stop();
          this.launch(serve);
        }
      }
    }
  }

  /** A start-up failure as the user should read it: the typed cause when there is one, else the child's own last lines from this run. */
  private startFailure(failed: Component, error: unknown): { error: CompozyError; details?: string } {
    if (error instanceof CompozyError && error.code !== 'PROCESS_START_FAILED' && error.code !== 'TEMPORAL_UNREACHABLE') return { error };
    if (failed.name === 'temporal') {
      const diagnosis = diagnoseStartFailure(this.mux.recent('temporal', 50), this.temporalDb);
      if (diagnosis) return { error: diagnosis };
    }
    const lines = this.mux.recent(failed.name, 20);
    const message = `${failed.name} failed to start: ${errorMessage(error)}`;
    return {
      error: new CompozyError('PROCESS_START_FAILED', message, { hint: `The whole log: ${failed.record.logFile}` }),
      details: failureDetails(message, failed.record.logFile, lines),
    };
  }

  async run(): Promise<number> {
    const { stateDir } = this.options;
    mkdirSync(stateDir, { recursive: true });
    // execa loads while a killed run is looked at; it is there before the first launch.
    const spawner = childSpawner();
    // Orphans of a killed run go first: they may hold the ports this run is about to take.
    const stale = await reapStaleRun(stateDir);
    if (stale.kind === 'running') throw alreadyRunning(stale.state, this.options.projectDir);
    if (stale.kind === 'reaped' && stale.pids.length > 0) this.narrate(`! Stopped ${plural(stale.pids.length, 'process', 'processes')} left by a previous run that was killed (pids ${stale.pids.join(', ')})`);
    checkDevServerDb(this.temporalDb);
    this.temporalPort = await freePort();
    this.temporalHttpPort = await freePort();
    this.uiPort = this.options.temporalUi ? await freePort() : undefined;
    this.buildComponents();
    this.spawnChild = await spawner;

    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        // A second signal while stopping means "now": skip the grace periods.
        if (this.stopping) this.killAll();
        else void this.shutdown(0, `received ${signal}`);
      });
    }
    this.watchParent();

    const { api } = this.options;
    this.options.emit?.({ event: 'starting', project: this.options.projectName, mode: this.options.mode, requestedApiPort: api.port, temporalAddress: this.temporalAddress, components: this.components.map((c) => c.name) });
    const [temporal, serve] = this.components as [Component, Component];
    const started = Date.now();
    this.narrate(`• Starting Temporal dev server (CLI ${this.options.temporalVersion}) on ${this.temporalAddress}…`);
    const temporalChild = this.launch(temporal);
    this.narrate(`• Starting API and worker (compozy serve)…`);
    // serve starts alongside: its worker keeps retrying until Temporal answers, which hides Node's start-up time.
    this.launch(serve);
    try {
      await this.startTemporal(temporal, serve, temporalChild);
      this.narrate(`✔ Temporal ready on ${this.temporalAddress} (${((Date.now() - started) / 1000).toFixed(1)} s)${this.temporalUiUrl ? `, UI at ${this.temporalUiUrl}` : ''}`);
      await this.waitReady(serve, serve.child as RunningChild);
      this.narrate(`✔ API ready on ${this.apiUrl}, worker polling (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      if (api.port !== 0 && this.apiPort !== api.port) this.narrate(`! Port ${api.port} is in use, so the API is on port ${this.apiPort}: use ${this.apiUrl}`);
    } catch (error) {
      if (this.stopping) return this.exitCode;
      const failed = this.components.find((c) => c.record.state !== 'up') ?? temporal;
      const failure = this.startFailure(failed, error);
      // Shown even with --json (on the log stream, stderr): the reason alone rarely says what to fix.
      if (failure.details) {
        if (this.options.narrate) this.options.narrate(failure.details);
        else this.options.logOut.write(`${failure.details}\n`);
      }
      await this.shutdown(1, failure.error.message, { quiet: true });
      throw failure.error;
    }
    this.live = true;
    await this.reportHealth('start');
    return this.exitCode;
  }

  /**
   * A supervisor whose parent is gone (npx and its shell killed by a process manager) would run on
   * under init: stop cleanly instead. The parent is polled because nothing signals its death.
   */
  private watchParent(): void {
    const parent = process.ppid;
    if (parent <= 1) return;
    this.parentWatch = setInterval(() => {
      if (process.ppid === parent || this.stopping) return;
      this.mux.line('serve', `supervisor: the process that started compozy dev (pid ${parent}) is gone; stopping`);
      void this.shutdown(0, `parent process ${parent} exited`);
    }, this.options.parentCheckMs ?? 500);
    this.parentWatch.unref();
  }

  /** Shows the health table (or emits it): at start-up with the start lines, after a recovered restart (`ready` again), after a reload (`reload`). */
  private async reportHealth(occasion: 'start' | 'restart' | 'reload'): Promise<void> {
    const read = await readServeHealth(this.apiUrl as string, { mode: this.options.mode, project: this.options.projectName });
    if (read.unread) this.narrate(`! ${read.unread}`);
    let { health } = read;
    if (!Array.isArray(health.components)) {
      // API keys are on and this process has none to send: the API answered its overall status only.
      this.narrate(`! The API requires an API key for its health detail (status: ${health.status}); set COMPOZY_API_KEY or run \`compozy auth login\` to see the components.`);
      health = { ...health, components: [] };
    }
    if (this.stopping) return;
    const apiUrl = this.apiUrl as string;
    this.options.showHealth?.(health);
    if (occasion === 'reload') {
      this.options.emit?.({ event: 'reload', health, apiUrl });
      return;
    }
    if (occasion === 'start' && this.options.showStartLines) {
      for (const line of startLines({ apiUrl, workflow: this.firstWorkflow, dashboardUrl: `${apiUrl}/`, logDir: this.logDir })) this.narrate(line);
      this.narrate('');
    }
    this.options.emit?.({ event: 'ready', health, apiUrl, temporalAddress: this.temporalAddress, ...(this.temporalUiUrl ? { temporalUiUrl: this.temporalUiUrl } : {}), logDir: this.logDir });
  }

  private async onExit(component: Component, child: RunningChild, exit: ChildExit): Promise<void> {
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
    this.mux.line(component.name, `exited (${exitDescription(exit)}); restarting in ${decision.delayMs} ms (restart ${restarts})`);
    this.options.emit?.({ event: 'restart', component: component.name, restarts, exitCode: exit.code, signal: exit.signal, delayMs: decision.delayMs });
    await sleep(decision.delayMs);
    if (this.stopping) return;
    const next = this.launch(component);
    try {
      await this.waitReady(component, next);
    } catch (error) {
      // A replacement that dies during start-up is handled by its own exit, like any crash; one that
      // reported why it cannot start says so.
      if (error instanceof CompozyError && error.code !== 'PROCESS_START_FAILED') this.mux.line(component.name, `cannot start: ${error.message}`);
      return;
    }
    if (!this.stopping) await this.reportHealth('restart');
  }

  private killAll(): void {
    this.narrate('• Second signal: killing children now');
    for (const component of this.components) component.child?.kill();
  }

  /** Stops serve, then Temporal (TERM, grace, KILL), and settles the exit code. */
  async shutdown(code: number, reason: string, options: { quiet?: boolean } = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.parentWatch);
    this.shutdownController.abort();
    if (!options.quiet) this.narrate(`• Stopping (${reason})…`);
    for (const component of [...this.components].reverse()) {
      if (!component.child) continue;
      this.mux.mute(component.name);
      // An in-memory Temporal has nothing to keep, and its graceful stop waits out the frontend's gRPC
      // drain, at least 1 s however it is configured (service/frontend: max(time.Second,
      // ShutdownDrainDuration)), plus matching's: with serve, its one client, stopped, it is killed.
      if (component.name === 'temporal' && this.options.temporalInMemory) component.child.kill();
      const exit = await component.child.stop();
      component.record = { ...component.record, state: 'stopped', lastExitCode: exit.code };
    }
    for (let launch = 1; launch <= this.launches; launch++) removeServeReport(this.reportPath(launch));
    await this.mux.close();
    removeRunState(this.options.stateDir);
    this.options.emit?.({ event: 'exit', code, reason });
    if (!options.quiet) this.narrate(code === 0 ? '✔ Stopped.' : `✗ Exited: ${reason}`);
    this.resolveExit(code);
  }
}
