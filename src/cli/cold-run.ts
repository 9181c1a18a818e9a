import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import type { Platform } from '../api/platform.js';
import type { ProjectConfig } from '../config/types.js';
import type { EngineClient } from '../engine/client.js';
import { CompozyError, errorMessage } from '../errors.js';
import { freePort } from '../platform/ports.js';
import { removeRunState, writeRunState, type ChildRecord, type RunState } from '../platform/run-state.js';
import { describeEvent } from '../server/events.js';
import { childSpawner, exitDescription, type RunningChild } from '../supervisor/child-process.js';
import { failureDetails, LogMux } from '../supervisor/log-mux.js';
import { alreadyRunning, reapStaleRun } from '../supervisor/reaper.js';
import { checkDevServerDb, devServerArgs, devServerDbPath, diagnoseStartFailure, lostItsPort, TEMPORAL_PORT_RETRIES } from '../temporal/dev-server.js';
import { waitForTemporal } from '../temporal/readiness.js';
import { refuseWithoutKey, requireEmbeddedMode, resolvePlatformTemporal } from './platform.js';
import type { ProjectContext } from './project-context.js';

/** A smoke run's platform in this process: its engine, and its API when one was asked for. */
export interface ColdPlatform {
  engine: EngineClient;
  apiUrl: string | undefined;
  /** Rejects once a signal arrives or the parent goes away (the run is to stop), or the platform stops on its own. */
  interrupted: Promise<never>;
  /** Stops the worker, the API, the backends, then Temporal; says so on stderr. Idempotent. */
  stop(reason: string): Promise<void>;
}

export interface ColdRunOptions {
  /** Serve the API on this port (0: any free one) during the run; none when undefined. */
  port: number | undefined;
  narrate: (line: string) => void;
}

/** How long Temporal gets to exit on TERM before it is killed (a persistent one; an in-memory one is killed). */
const TEMPORAL_GRACE_MS = 10_000;
/** How often the run checks that the process that started it is still there. */
const PARENT_CHECK_MS = 500;

const discard = new Writable({ write: (_chunk, _encoding, done) => done() });

/** Why a smoke run stopped before its execution ended: a signal, or its parent went away. */
export class Interrupted extends CompozyError {
  constructor(
    readonly reason: string,
    /** What was under way, e.g. "before execution … ended (last status RUNNING)". */
    during?: string,
  ) {
    super('CHECK_FAILED', `The smoke run was stopped (${reason})${during ? ` ${during}` : ''}.`);
  }
}

/**
 * A cold `compozy run`: the Temporal dev server as a child (started first, in its own process group,
 * TERM when this process dies), and the engine — KV, store, tools, worker, and the API when --port
 * asks for it — in this process while Temporal boots; the worker connects the moment Temporal
 * answers. `.compozy/run.json` records the run, so a `compozy dev` of the project refuses to start
 * on the same Temporal database meanwhile, and a killed run's Temporal is reaped by the next start.
 * Its logs go to `.compozy/logs/temporal.log` and `run.log`.
 */
export async function startColdPlatform(context: ProjectContext, config: ProjectConfig, options: ColdRunOptions): Promise<ColdPlatform> {
  const { project, settings, stateDir } = context;
  const { narrate } = options;
  requireEmbeddedMode(settings);
  await refuseWithoutKey(settings, stateDir);
  mkdirSync(stateDir, { recursive: true });
  const spawner = childSpawner();
  const stale = await reapStaleRun(stateDir);
  if (stale.kind === 'running') throw alreadyRunning(stale.state, project.dir);
  const inMemory = settings.temporalMode.value === 'memory';
  const binary = await resolvePlatformTemporal(settings);
  if (!inMemory) checkDevServerDb(devServerDbPath(stateDir, binary.version));
  const namespace = settings.temporalNamespace.value;
  const mux = new LogMux({ names: ['temporal', 'run'], color: false, out: discard, logDir: join(stateDir, 'logs') });
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

  // Signals from here on stop the run (a second one kills Temporal at once); so does a vanished parent.
  let stopReason: string | undefined;
  let interrupt!: (error: Interrupted) => void;
  const interrupted = new Promise<never>((_resolve, reject) => (interrupt = reject));
  interrupted.catch(() => undefined);
  /** The start-up under way: its Temporal, and what gives it up. */
  let attempt: { port: number; temporal: RunningChild; abort: AbortController } | undefined;
  let platformUrl: string | undefined;
  const stopRun = (reason: string) => {
    if (stopReason) {
      attempt?.temporal.kill();
      return;
    }
    stopReason = reason;
    const error = new Interrupted(reason);
    attempt?.abort.abort(error);
    interrupt(error);
  };
  const onSignal = (signal: NodeJS.Signals) => stopRun(`received ${signal}`);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  const parent = process.ppid;
  const parentWatch = setInterval(() => {
    if (process.ppid !== parent) stopRun(`parent process ${parent} exited`);
  }, PARENT_CHECK_MS);
  parentWatch.unref();

  const saveState = (state: ChildRecord['state']) => {
    if (!attempt) return;
    const run: RunState = {
      version: 1,
      command: 'run',
      supervisorPid: process.pid,
      project: project.name,
      projectDir: project.dir,
      mode: settings.mode.value,
      startedAt: new Date(started).toISOString(),
      apiUrl: platformUrl ?? '',
      temporalAddress: `127.0.0.1:${attempt.port}`,
      children: {
        temporal: { pid: attempt.temporal.pid, state, restarts: 0, logFile: mux.logFile('temporal'), signature: ['server', 'start-dev', `--port ${attempt.port}`] },
        // The API in this process, as a running dev's serve: a second `compozy run` meanwhile uses it.
        ...(platformUrl ? { serve: { pid: process.pid, state: 'up' as const, restarts: 0, logFile: mux.logFile('run'), signature: ['compozy', 'run'] } } : {}),
      },
    };
    writeRunState(stateDir, run);
  };

  let stopping: Promise<void> | undefined;
  let platform: Platform | undefined;
  const stop = (reason: string, quiet = false): Promise<void> =>
    (stopping ??= (async () => {
      if (!quiet) narrate(`• Stopping (${reason})…`);
      clearInterval(parentWatch);
      try {
        await platform?.stop().catch(() => undefined);
      } finally {
        mux.mute('temporal');
        if (inMemory) attempt?.temporal.kill();
        await attempt?.temporal.stop();
        await mux.close();
        removeRunState(stateDir);
        for (const signal of signals) process.off(signal, onSignal);
      }
      if (!quiet) narrate('✔ Stopped.');
    })());

  const spawn = await spawner;
  let engine: Promise<typeof import('../api/platform.js')> | undefined;
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    // Readiness is asked over Temporal's HTTP API: a gRPC probe opens a channel per try on this thread, beside the engine loading.
    const httpPort = await freePort();
    const address = `127.0.0.1:${port}`;
    if (tries > 1) mux.line('temporal', `its port was taken; starting again on ${address}`);
    narrate(`• Starting Temporal dev server (CLI ${binary.version}) on ${address}…`);
    mux.startRun('temporal');
    const temporal = spawn(
      { name: 'temporal', command: binary.path, args: devServerArgs({ port, httpPort, namespace, stateDir: inMemory ? undefined : stateDir, cliVersion: binary.version }), cwd: project.dir },
      { graceMs: TEMPORAL_GRACE_MS, onLine: (line) => mux.line('temporal', line) },
    );
    // Loaded once Temporal is spawned: the engine's modules are most of this process's start-up.
    engine ??= import('../api/platform.js');
    const current = { port, temporal, abort: new AbortController() };
    attempt = current;
    if (stopReason) current.abort.abort(new Interrupted(stopReason));
    saveState('starting');
    const gone = new AbortController();
    void temporal.exited.then((exit) => gone.abort(new CompozyError('PROCESS_START_FAILED', `temporal exited during start-up (${exitDescription(exit)}).`)));
    if (tries === 1) narrate('• Starting the engine (KV, store, tools, worker) in this process…');
    // The engine starts beside Temporal's boot; its worker connects the moment Temporal answers. Either failing gives up the other.
    const ready = waitForTemporal(address, namespace, { timeoutMs: 30_000, abort: AbortSignal.any([gone.signal, current.abort.signal]), httpAddress: `127.0.0.1:${httpPort}` }).then(
      () => {
        narrate(`✔ Temporal ready on ${address} (${seconds()} s)`);
        saveState('up');
      },
      (error: unknown) => {
        current.abort.abort(error);
        throw error;
      },
    );
    const starting = engine.then(({ startPlatform }) =>
      startPlatform({
        project: config,
        projectName: project.name,
        settings: { ...settings, temporalAddress: { value: address, source: 'default', origin: 'embedded Temporal dev server' } },
        stateDir,
        worker: true,
        http: options.port === undefined ? undefined : { host: settings.serverHost.value, port: options.port, portFallback: false },
        temporalBackend: `embedded dev server (CLI ${binary.version})`,
        log: (line) => mux.line('run', line),
        emit: (event) => mux.line('run', describeEvent(event)),
        abort: current.abort.signal,
      }),
    );
    try {
      const [, running] = await Promise.all([ready, starting]);
      platform = running;
    } catch (error) {
      // What was started in this process is stopped (by the abort) before anything is decided.
      current.abort.abort(error);
      await starting.catch(() => undefined);
      const lines = mux.recent('temporal', 50);
      const exited = await Promise.race([temporal.exited.then(() => true), sleep(200).then(() => false)]);
      if (!stopReason && exited && tries <= TEMPORAL_PORT_RETRIES && lostItsPort(lines)) {
        continue;
      }
      if (stopReason) {
        await stop(stopReason);
        throw new Interrupted(stopReason);
      }
      await stop('start-up failed', true);
      const temporalFailed = gone.signal.aborted || (error instanceof CompozyError && error.code === 'TEMPORAL_UNREACHABLE');
      if (!temporalFailed) throw error;
      const diagnosis = diagnoseStartFailure(lines, inMemory ? '(in memory)' : devServerDbPath(stateDir, binary.version));
      if (diagnosis) throw diagnosis;
      const logFile = mux.logFile('temporal');
      const message = `temporal failed to start: ${errorMessage(error)}`;
      narrate(failureDetails(message, logFile, lines));
      throw new CompozyError('PROCESS_START_FAILED', message, { hint: `The whole log: ${logFile}` });
    }
    break;
  }
  const running = platform as Platform;
  platformUrl = running.http?.url;
  if (platformUrl) saveState('up');
  narrate(platformUrl ? `✔ API ready on ${platformUrl}, worker polling (${seconds()} s)` : `✔ Worker polling (${seconds()} s)`);
  running.stopped.catch((error: unknown) => interrupt(new Interrupted(`the worker stopped: ${errorMessage(error)}`)));
  return { engine: running.runtime.engine, apiUrl: platformUrl, interrupted, stop };
}
