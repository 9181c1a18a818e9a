import type { Command } from 'commander';
import { renderHealthTable } from '../../supervisor/health-table.js';
import { useColor, writeJson } from '../output.js';
import { preparePlatform, type PlatformFlags } from '../platform.js';
import { runAction } from '../run-action.js';
import { withConfigOption } from '../config-option.js';

interface DevFlags extends PlatformFlags {
  json?: boolean;
}

export function registerDev(program: Command): void {
  withConfigOption(program.command('dev [project]'))
    .description('Run the whole platform locally: embedded Temporal, API, worker and SQLite KV (project dir or example name)')
    .option('--port <port>', 'API port (default 5001, or the next free one; 0 for any free port)')
    .option('--host <host>', 'API listen address (default 127.0.0.1, or SERVER_HOST / server.host); API keys are required on any other address')
    .option('--mode <mode>', 'deployment mode: persistent (state in .compozy/, the default; "standalone" is its old name) or memory (state in a temporary folder removed on exit); COMPOZY_MODE, mode:')
    .option('--temporal-mode <mode>', 'embedded Temporal in memory or persistent (default: the mode); TEMPORAL_MODE, temporal.mode')
    .option('--redis-mode <mode>', 'the KV: distributed is Redis (REDIS_URL), memory or persistent the embedded SQLite KV (default: the mode); REDIS_MODE, redis.mode')
    .option('--temporal-bin <path>', 'Temporal CLI binary to run')
    .option('--temporal-ui', 'also serve the Temporal web UI')
    .option('--no-watch', "do not reload the project when its YAML, entrypoint or tools' code change")
    .option('--verbose', "more of the children's logs: the Temporal SDK at INFO, with its metadata")
    .option('--json', 'JSON Lines events on stdout (starting, ready, restart, exit); logs go to stderr')
    .action((projectArg: string | undefined, flags: DevFlags) =>
      runAction(Boolean(flags.json), async () => {
        // Serve reads its KV settings itself: it inherits the flag as REDIS_MODE (validated here first).
        if (flags.redisMode !== undefined) process.env.REDIS_MODE = flags.redisMode;
        const json = Boolean(flags.json);
        const color = !json && useColor();
        const { supervisor } = await preparePlatform(projectArg, flags, {
          narrate: json ? undefined : (line: string) => process.stdout.write(`${line}\n`),
          emit: json ? (event) => writeJson(event) : undefined,
          showHealth: json ? undefined : (report) => process.stdout.write(`\n${renderHealthTable(report, { color })}\n\n`),
          showStartLines: !json,
          logOut: json ? process.stderr : process.stdout,
          color,
        });
        return supervisor.run();
      }),
    );
}
