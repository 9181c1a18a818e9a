import type { Command } from 'commander';
import { errorMessage } from '../../errors.js';
import { openProject, requireTemporalAddress } from '../project-context.js';
import { runAction } from '../run-action.js';

interface ServeFlags {
  host?: string;
  port?: string;
  temporalAddress?: string;
  mode?: string;
  worker?: boolean;
}

/** Runs the API (and, unless --no-worker, a worker) until a signal or a worker failure. */
async function runServer(projectArg: string | undefined, flags: ServeFlags): Promise<number> {
  const { project, settings, env, stateDir } = openProject(projectArg, flags);
  const temporalAddress = requireTemporalAddress(settings, 'The server');
  const supervisorPid = env.COMPOZY_SUPERVISOR_PID ? Number(env.COMPOZY_SUPERVISOR_PID) : undefined;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const { serve } = await import('../../server/serve.js');
  const handle = await serve({
    projectName: project.name,
    projectDir: project.dir,
    stateDir,
    mode: settings.mode.value,
    host: settings.serverHost.value,
    port: settings.serverPort.value,
    temporalAddress,
    temporalBackend: env.COMPOZY_TEMPORAL_BACKEND ?? 'external',
    namespace: settings.temporalNamespace.value,
    taskQueue: settings.taskQueue.value,
    settings,
    worker: flags.worker !== false,
    supervisorPid,
    log,
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      log(`received ${signal}; stopping`);
      void handle.stop();
    });
  }
  try {
    await handle.stopped;
    return 0;
  } catch (error) {
    log(`stopping: ${errorMessage(error)}`);
    await handle.stop();
    return 1;
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve [project]')
    .description('Run the HTTP API and an in-process Temporal worker (what `compozy dev` supervises)')
    .option('--host <host>', 'address to listen on')
    .option('--port <port>', 'API port')
    .option('--temporal-address <host:port>', 'Temporal frontend to connect to')
    .option('--mode <mode>', 'standalone | distributed')
    .option('--no-worker', 'serve the API only; `compozy worker` processes run the executions')
    .action((projectArg: string | undefined, flags: ServeFlags) => runAction(false, () => runServer(projectArg, flags)));

  program
    .command('start [project]')
    .description('Run the API (and a worker) on Redis, PostgreSQL and an external Temporal: distributed mode')
    .option('--host <host>', 'address to listen on')
    .option('--port <port>', 'API port')
    .option('--temporal-address <host:port>', 'Temporal frontend to connect to (or TEMPORAL_ADDRESS)')
    .option('--mode <mode>', 'distributed (default) | standalone')
    .option('--no-worker', 'serve the API only; `compozy worker` processes run the executions')
    .action((projectArg: string | undefined, flags: ServeFlags) => runAction(false, () => runServer(projectArg, { ...flags, mode: flags.mode ?? 'distributed' })));
}
