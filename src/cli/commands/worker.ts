import type { Command } from 'commander';
import { errorMessage } from '../../errors.js';
import { openProject, requireTemporalAddress } from '../project-context.js';
import { runAction } from '../run-action.js';

interface WorkerFlags {
  temporalAddress?: string;
  mode?: string;
}

export function registerWorker(program: Command): void {
  program
    .command('worker [project]')
    .description('Run a Temporal worker for the project (no HTTP): scale executions out next to `compozy start --no-worker`')
    .option('--temporal-address <host:port>', 'Temporal frontend to connect to (or TEMPORAL_ADDRESS)')
    .option('--mode <mode>', 'distributed (default) | standalone')
    .action((projectArg: string | undefined, flags: WorkerFlags) =>
      runAction(false, async () => {
        const { settings, stateDir, project } = openProject(projectArg, { ...flags, mode: flags.mode ?? 'distributed' });
        const temporalAddress = requireTemporalAddress(settings, 'The worker');
        const log = (line: string) => process.stdout.write(`${line}\n`);
        const { runWorkerProcess } = await import('../../server/worker-process.js');
        const handle = await runWorkerProcess({
          projectDir: project.dir,
          stateDir,
          settings,
          temporalAddress,
          namespace: settings.temporalNamespace.value,
          taskQueue: settings.taskQueue.value,
          log,
        });
        let signalled = false;
        for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
          process.once(signal, () => {
            signalled = true;
            log(`received ${signal}; stopping`);
            void handle.stop();
          });
        }
        try {
          await handle.worker.done;
          await handle.stop();
          return signalled ? 0 : 1;
        } catch (error) {
          log(`worker failed: ${errorMessage(error)}`);
          await handle.stop();
          return 1;
        }
      }),
    );
}
