import type { Command } from 'commander';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../config/project.js';
import { CompozyError } from '../../errors.js';
import { chooseApiPort, freePort } from '../../platform/ports.js';
import { renderHealthTable } from '../../supervisor/health-table.js';
import { resolveTemporalBinary } from '../../temporal/binary.js';
import { useColor, writeJson } from '../output.js';
import { openProject } from '../project-context.js';
import { runAction } from '../run-action.js';

interface DevFlags {
  port?: string;
  host?: string;
  mode?: string;
  temporalBin?: string;
  temporalUi?: boolean;
  json?: boolean;
}

export function registerDev(program: Command): void {
  program
    .command('dev [project]')
    .description('Run the whole platform locally: embedded Temporal, API, worker and SQLite KV (project dir or example name)')
    .option('--port <port>', 'API port (default 5001, or the next free one)')
    .option('--host <host>', 'API listen address', '127.0.0.1')
    .option('--mode <mode>', 'deployment mode (dev runs standalone)')
    .option('--temporal-bin <path>', 'Temporal CLI binary to run')
    .option('--temporal-ui', 'also serve the Temporal web UI')
    .option('--json', 'JSON Lines events on stdout (starting, ready, restart, exit); logs go to stderr')
    .action((projectArg: string | undefined, flags: DevFlags) =>
      runAction(Boolean(flags.json), async () => {
        const json = Boolean(flags.json);
        const { project, settings, stateDir } = openProject(projectArg, flags);
        if (settings.mode.value !== 'standalone') {
          throw new CompozyError('USAGE', `compozy dev runs the standalone platform, but the mode is "${settings.mode.value}" (from ${settings.mode.origin}).`, {
            hint: 'Use `compozy start` for distributed mode, or set the mode to standalone.',
          });
        }
        // A project that does not validate would only crash-loop the serve child: refuse it up front.
        const { loadValidProject } = await import('../../config/valid-project.js');
        loadValidProject(project.dir);
        const color = !json && useColor();
        const narrate = json ? undefined : (line: string) => process.stdout.write(`${line}\n`);
        const temporal = await resolveTemporalBinary({
          flag: settings.temporalBin.source === 'flag' ? settings.temporalBin.value : undefined,
          config: settings.temporalBin.source === 'file' ? settings.temporalBin.value : undefined,
          install: true,
          onProgress: (event) => process.stderr.write(`${event.message}\n`),
        });
        const host = settings.serverHost.value;
        const apiPort = await chooseApiPort({ port: settings.serverPort.value, explicit: settings.serverPort.source !== 'default' }, host);
        const temporalPort = await freePort();
        const uiPort = flags.temporalUi ? await freePort() : undefined;
        const { Supervisor } = await import('../../supervisor/supervisor.js');
        const supervisor = new Supervisor({
          projectName: project.name,
          projectDir: project.dir,
          stateDir,
          mode: settings.mode.value,
          temporalBin: temporal.path,
          temporalVersion: temporal.version,
          temporalPort,
          uiPort,
          namespace: settings.temporalNamespace.value,
          apiHost: host,
          apiPort,
          serveCommand: { command: process.execPath, args: [join(PACKAGE_ROOT, 'bin', 'compozy.js')] },
          narrate,
          emit: json ? (event) => writeJson(event) : undefined,
          showHealth: json ? undefined : (report) => process.stdout.write(`\n${renderHealthTable(report, { color })}\n\n`),
          logOut: json ? process.stderr : process.stdout,
          color,
        });
        return supervisor.run();
      }),
    );
}
