import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CompozyError } from '../errors.js';

export interface DevServerConfig {
  port: number;
  namespace: string;
  /** Where the history persists (`temporal-<cli version>.db`); in memory when undefined. */
  stateDir: string | undefined;
  cliVersion: string;
  /** Serve the web UI on this port; headless when undefined. */
  uiPort?: number | undefined;
  /** The HTTP API (what a readiness probe without a gRPC client asks) on this port; a random one when undefined. */
  httpPort?: number | undefined;
}

/** The dev server's SQLite file, keyed by CLI version: newer CLIs may not read older files. */
export function devServerDbPath(stateDir: string, cliVersion: string): string {
  return join(stateDir, `temporal-${cliVersion}.db`);
}

/**
 * The server's own system workers that a dev server has no use for: the task queue and history
 * scanners (clean-up of stale persistence rows) and the parent-close-policy worker (with it off, the
 * history service applies a closing parent's policy to its children itself). Their long polls on the
 * frontend are what its graceful stop waits for, up to its 1 s drain cap: without them, TERM to exit
 * takes ~0.1 s instead of ~1.1 s. The scheduler's worker (schedules) stays.
 */
export const IDLE_SYSTEM_WORKERS_OFF = ['worker.taskQueueScannerEnabled=false', 'worker.historyScannerEnabled=false', 'system.enableParentClosePolicyWorker=false'];

/**
 * Eager activity execution (off by default in the server): the worker completing a workflow task
 * that schedules an activity on its own task queue, with a free slot, gets the activity in the
 * response instead of from its activity poll, so each regular activity (a tool or agent task) skips a
 * task-queue dispatch. In `compozy run weather`'s history, scheduled to started went from 2-52 ms
 * (usually 4-10) to 0.0-0.4 ms, for 11 activities.
 */
export const EAGER_ACTIVITIES = 'system.enableActivityEagerExecution=true';

export function devServerArgs(config: DevServerConfig): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(config.port),
    ...(config.httpPort === undefined ? [] : ['--http-port', String(config.httpPort)]),
    '--namespace',
    config.namespace,
    // WAL with synchronous=NORMAL, as compozy's own databases: a killed process loses nothing
    // committed; a power cut can lose the last commits (README, What compozy promises).
    ...(config.stateDir === undefined ? [] : ['--db-filename', devServerDbPath(config.stateDir, config.cliVersion), '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL']),
    '--log-format',
    'json',
    '--log-level',
    'warn',
    ...(config.uiPort === undefined ? ['--headless'] : ['--ui-port', String(config.uiPort)]),
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    ...[...IDLE_SYSTEM_WORKERS_OFF, EAGER_ACTIVITIES].flatMap((setting) => ['--dynamic-config-value', setting]),
  ];
}

/** How many times a dev server that lost its port to another process (between choosing it and binding it) is started on a new one. */
export const TEMPORAL_PORT_RETRIES = 3;

/** Whether the lines a dev server printed before it exited say its port was taken. */
export function lostItsPort(lines: readonly string[]): boolean {
  return lines.some((line) => /address already in use|EADDRINUSE/i.test(line));
}

/** SQLite's own words for a file that is not (or no longer) a database. */
const CORRUPT = /file is not a database|database disk image is malformed|file is encrypted or is not a database|database corrupt/i;

/** The message of the dev server's last error line (it logs JSON lines: {"level":"ERROR","msg":…}). */
function lastError(lines: readonly string[]): string | undefined {
  for (const line of [...lines].reverse()) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
      if (entry.level?.toUpperCase() === 'ERROR' && entry.msg) return entry.error ? `${entry.msg}: ${entry.error}` : entry.msg;
    } catch {
      if (/^Error: /.test(line)) return line.slice('Error: '.length);
    }
  }
  return undefined;
}

/**
 * Why a dev server that exited during start-up failed, from the lines it printed in this run: a
 * corrupt database names the file and what to do; otherwise its last error, when it logged one.
 */
export function diagnoseStartFailure(lines: readonly string[], dbPath: string): CompozyError | undefined {
  const error = lastError(lines);
  if (!error) return undefined;
  const corrupt = CORRUPT.exec(error);
  if (corrupt) {
    return new CompozyError('TEMPORAL_START_FAILED', `The Temporal database ${dbPath} is unreadable: ${corrupt[0]} (${error}).`, {
      hint: `Move it aside (mv ${dbPath} ${dbPath}.corrupt) and start again: Temporal starts with an empty history, and the executions recorded in compozy.db stay.`,
      details: { file: dbPath },
    });
  }
  return new CompozyError('TEMPORAL_START_FAILED', `The Temporal dev server failed to start: ${error}`, { hint: 'Run `compozy doctor`; the full output is in .compozy/logs/temporal.log.' });
}

/**
 * A Temporal database that exists but is empty lost its history: the dev server would silently start
 * a new one over it. Refused, naming the file; only a missing file is created.
 */
export function checkDevServerDb(dbPath: string): void {
  let size: number;
  try {
    size = statSync(dbPath).size;
  } catch {
    return;
  }
  if (size === 0) {
    throw new CompozyError('TEMPORAL_START_FAILED', `The Temporal database ${dbPath} is empty (0 bytes): its workflow history is gone.`, {
      hint: `Move it aside (mv ${dbPath} ${dbPath}.empty) to start with an empty history; the executions recorded in compozy.db stay.`,
      details: { file: dbPath },
    });
  }
}
