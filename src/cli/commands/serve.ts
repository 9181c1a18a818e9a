import type { Command } from 'commander';
import { Option } from 'commander';
import { CompozyError, errorMessage, exitCodeFor } from '../../errors.js';
import { ShutdownError } from '../../platform/shutdown.js';
import { processOutput } from '../../server/events.js';
import { listenForStopSignals } from '../stop-signals.js';
import { firstWorkflow } from '../../supervisor/first-lines.js';
import { RUN_NONCE_ENV, SERVE_REPORT_ENV, serveFailureReport, writeServeReport } from '../../supervisor/serve-report.js';
import { openProject, requireTemporalAddress } from '../project-context.js';
import { runAction } from '../run-action.js';
import { withConfigOption } from '../config-option.js';

interface ServeFlags {
  host?: string;
  port?: string;
  portFallback?: boolean;
  temporalAddress?: string;
  mode?: string;
  worker?: boolean;
  json?: boolean;
  verbose?: boolean;
  dashboard?: boolean;
  watch?: boolean;
}

/** How often serve checks that the supervisor that started it is still its parent. */
const SUPERVISOR_CHECK_MS = 500;

/**
 * Runs the API (and, unless --no-worker, a worker) until a signal or a worker failure: the platform
 * createCompozy starts in HTTP mode, plus what a process supervised by `compozy dev` needs — the
 * supervisor's nonce on /readyz, the per-launch report file, and stopping when the supervisor is gone.
 */
async function runServer(projectArg: string | undefined, flags: ServeFlags): Promise<number> {
  const { project, settings, env, stateDir } = openProject(projectArg, flags);
  requireTemporalAddress(settings, 'The server');
  const supervisorPid = env.COMPOZY_SUPERVISOR_PID ? Number(env.COMPOZY_SUPERVISOR_PID) : undefined;
  const reportPath = process.env[SERVE_REPORT_ENV];
  const nonce = process.env[RUN_NONCE_ENV];
  const output = processOutput(Boolean(flags.json));
  const { log } = output;
  const signals = listenForStopSignals(log);
  const { processCompozy } = await import('../../api/compozy.js');
  const compozy = processCompozy(project, settings, stateDir, log, {
    nonce,
    supervisorPid,
    temporalBackend: env.COMPOZY_TEMPORAL_BACKEND ?? 'external',
    verbose: Boolean(flags.verbose),
    emit: output.emit,
    // The supervisor reads the report as soon as serve listens, then waits on /readyz for the worker.
    awaitWorker: false,
  });
  try {
    await compozy.start({
      worker: flags.worker !== false,
      http: { host: settings.serverHost.value, port: settings.serverPort.value, portFallback: settings.serverPort.source === 'default' || Boolean(flags.portFallback), dashboard: Boolean(flags.dashboard) },
    });
  } catch (error) {
    if (reportPath && nonce) {
      writeServeReport(reportPath, serveFailureReport(process.pid, nonce, error));
      // The supervisor shows a typed reason as reported (serve's lines reach the same terminal): serve's
      // log says where it went instead of printing it twice. An untyped one is printed, stack and all.
      if (error instanceof CompozyError) {
        log(`✗ serve did not start (${error.code}); the reason went to the compozy dev that started it (pid ${supervisorPid ?? 'unknown'})`);
        return exitCodeFor(error);
      }
    }
    throw error;
  }
  const url = compozy.apiUrl as string;
  const watching = flags.watch ? (await import('../../api/watch-mode.js')).startWatchMode(compozy, project.dir, output.emit, { running: settings, now: () => openProject(project.dir, flags).settings }) : undefined;
  if (reportPath && nonce) {
    const first = firstWorkflow(compozy.project);
    writeServeReport(reportPath, { pid: process.pid, nonce, url, port: Number(new URL(url).port), ...(first ? { firstWorkflow: first } : {}) });
  }
  const { stopped } = compozy;
  // Watching ends first, after a reload under way, so no reload starts on a stopping platform.
  const shutdown = async () => {
    await watching?.close();
    await compozy.stop();
  };
  // A failing shutdown step is logged as it fails and rejects `stopped`.
  const stop = () => void shutdown().catch(() => undefined);
  if (supervisorPid !== undefined) {
    const watch = setInterval(() => {
      if (process.ppid !== supervisorPid) {
        log(`supervisor (pid ${supervisorPid}) is gone; shutting down`);
        clearInterval(watch);
        stop();
      }
    }, SUPERVISOR_CHECK_MS);
    watch.unref();
  }
  signals.onStop(stop);
  try {
    await stopped;
    output.emit({ event: 'exit', code: 0, reason: signals.reason ?? 'stopped' });
    return 0;
  } catch (error) {
    if (!(error instanceof ShutdownError)) log(`stopping: ${errorMessage(error)}`);
    await shutdown().catch(() => undefined);
    output.emit({ event: 'exit', code: 1, reason: errorMessage(error) });
    return 1;
  }
}

function serverOptions(command: Command): Command {
  return withConfigOption(command)
    .option('--host <host>', 'address to listen on')
    .option('--port <port>', 'API port (default 5001, or the next free one; 0 for any free port)')
    .addOption(new Option('--port-fallback', 'take the next free port when --port is busy (used by compozy dev on restarts)').hideHelp())
    .option('--temporal-address <host:port>', 'Temporal frontend to connect to (or TEMPORAL_ADDRESS)')
    .option('--no-worker', 'serve the API only; `compozy worker` processes run the executions')
    .option('--json', 'JSON Lines events on stdout (listening, execution-started, execution-finished, task-failed, log, exit)')
    .option('--verbose', 'also the Temporal SDK at INFO, with its metadata')
    .option('--dashboard', 'also serve the dev dashboard at / (compozy dev always does)');
}

export function registerServe(program: Command): void {
  serverOptions(program.command('serve [project]').description('Run the HTTP API and an in-process Temporal worker (what `compozy dev` supervises)'))
    .option('--mode <mode>', 'standalone | distributed')
    .option('--watch', "reload the project when its YAML, entrypoint or tools' code change (what compozy dev does)")
    .action((projectArg: string | undefined, flags: ServeFlags) => runAction(Boolean(flags.json), () => runServer(projectArg, flags)));

  serverOptions(program.command('start [project]').description('Run the API (and a worker) on Redis, PostgreSQL and an external Temporal: distributed mode'))
    .option('--mode <mode>', 'distributed (default) | standalone')
    .action((projectArg: string | undefined, flags: ServeFlags) => runAction(Boolean(flags.json), () => runServer(projectArg, { ...flags, mode: flags.mode ?? 'distributed' })));
}
