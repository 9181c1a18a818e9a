import type { Command } from 'commander';
import { errorMessage } from '../../errors.js';
import { ShutdownError } from '../../platform/shutdown.js';
import { processOutput } from '../../server/events.js';
import { listenForStopSignals } from '../stop-signals.js';
import { openProject, requireTemporalAddress } from '../project-context.js';
import { runAction } from '../run-action.js';
import { withConfigOption } from '../config-option.js';

interface WorkerFlags {
  temporalAddress?: string;
  mode?: string;
  json?: boolean;
  verbose?: boolean;
}

export function registerWorker(program: Command): void {
  withConfigOption(program.command('worker [project]'))
    .description('Run a Temporal worker for the project (no HTTP): scale executions out next to `compozy start --no-worker`')
    .option('--temporal-address <host:port>', 'Temporal frontend to connect to (or TEMPORAL_ADDRESS)')
    .option('--mode <mode>', 'distributed (default) | standalone')
    .option('--json', 'JSON Lines events on stdout (execution-started, execution-finished, task-failed, log, exit)')
    .option('--verbose', 'also the Temporal SDK at INFO, with its metadata')
    .action((projectArg: string | undefined, flags: WorkerFlags) =>
      runAction(Boolean(flags.json), async () => {
        const { settings, stateDir, project } = openProject(projectArg, { ...flags, mode: flags.mode ?? 'distributed' });
        requireTemporalAddress(settings, 'The worker');
        const output = processOutput(Boolean(flags.json));
        const { log } = output;
        const signals = listenForStopSignals(log);
        const { processCompozy } = await import('../../api/compozy.js');
        const compozy = processCompozy(project, settings, stateDir, log, { verbose: Boolean(flags.verbose), emit: output.emit });
        await compozy.start({ worker: true });
        const { stopped } = compozy;
        // A failing shutdown step is logged as it fails and rejects `stopped`.
        signals.onStop(() => void compozy.stop().catch(() => undefined));
        try {
          await stopped;
          output.emit({ event: 'exit', code: 0, reason: signals.reason ?? 'stopped' });
          return 0;
        } catch (error) {
          const reason = error instanceof ShutdownError ? error.message : `worker failed: ${errorMessage(error)}`;
          if (!(error instanceof ShutdownError)) log(reason);
          await compozy.stop().catch(() => undefined);
          output.emit({ event: 'exit', code: 1, reason });
          return 1;
        }
      }),
    );
}
