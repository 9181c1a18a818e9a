import { setTimeout as sleep } from 'node:timers/promises';
import { CompozyError } from '../errors.js';
import { projectArgument } from '../platform/project-argument.js';
import { commandLineOf, isPidAlive } from '../platform/pids.js';
import { readRunState, removeRunState, type RunState } from '../platform/run-state.js';

export type StaleRunOutcome = { kind: 'none' } | { kind: 'running'; state: RunState } | { kind: 'reaped'; pids: number[] };

function matches(pid: number, signature: readonly string[]): boolean {
  const commandLine = commandLineOf(pid)?.join(' ');
  return commandLine !== undefined && signature.every((part) => commandLine.includes(part));
}

/**
 * Looks at the state file a previous `compozy dev` left. A live supervisor means the project is
 * already running; a dead one means its children may be orphans, which are stopped (TERM, then KILL)
 * only when their command line still matches what was started, so a reused pid is left alone.
 */
export async function reapStaleRun(stateDir: string): Promise<StaleRunOutcome> {
  const state = readRunState(stateDir);
  if (!state) return { kind: 'none' };
  if (state.supervisorPid !== process.pid && isPidAlive(state.supervisorPid) && matches(state.supervisorPid, ['compozy'])) {
    return { kind: 'running', state };
  }
  const orphans = Object.values(state.children)
    .filter((child): child is typeof child & { pid: number } => child.pid !== undefined && isPidAlive(child.pid) && matches(child.pid, child.signature))
    .map((child) => child.pid);
  for (const pid of orphans) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (orphans.some(isPidAlive) && Date.now() < deadline) await sleep(100);
  for (const pid of orphans.filter(isPidAlive)) process.kill(pid, 'SIGKILL');
  removeRunState(stateDir);
  return { kind: 'reaped', pids: orphans };
}

/** The refusal of a second platform on a state folder that a live `compozy dev` (or cold `compozy run`) uses. */
export function alreadyRunning(state: RunState, projectDir: string): CompozyError {
  const api = state.apiUrl ? `, API ${state.apiUrl}` : '';
  return new CompozyError('ALREADY_RUNNING', `compozy ${state.command ?? 'dev'} is already running for this project (pid ${state.supervisorPid}${api}).`, {
    hint: `Use \`compozy status${projectArgument(projectDir)}\` to see it, or stop it before starting another.`,
  });
}
