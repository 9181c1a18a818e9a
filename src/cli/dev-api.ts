import { isPidAlive } from '../platform/pids.js';
import { readRunState } from '../platform/run-state.js';

/** What a project's `.compozy/run.json` and its serve's /readyz say about the `compozy dev` of that project. */
export type DevApi =
  /** No state file: nothing was started here. */
  | { state: 'none' }
  /** The state file names a supervisor that has exited. */
  | { state: 'stale'; supervisorPid: number }
  /** dev runs, but its API does not answer, or another process answers on its port. */
  | { state: 'unreachable'; supervisorPid: number; url: string; reason: string }
  /** The serve that dev started answers; `ready` once its worker polls. */
  | { state: 'up'; supervisorPid: number; url: string; ready: boolean };

/** The API of the `compozy dev` running for the project whose state folder this is. */
export async function devApi(stateDir: string): Promise<DevApi> {
  const run = readRunState(stateDir);
  if (!run) return { state: 'none' };
  if (!isPidAlive(run.supervisorPid)) return { state: 'stale', supervisorPid: run.supervisorPid };
  const base = { supervisorPid: run.supervisorPid, url: run.apiUrl };
  try {
    const response = await fetch(`${run.apiUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    const answer = (await response.json()) as { pid?: unknown };
    // Answered by the serve that dev started (its pid), not by whatever else took the port.
    if (answer.pid !== run.children.serve?.pid) return { state: 'unreachable', ...base, reason: `pid ${String(answer.pid)} answers there, not the serve (pid ${String(run.children.serve?.pid)}) that compozy dev started` };
    return { state: 'up', ...base, ready: response.ok };
  } catch (error) {
    return { state: 'unreachable', ...base, reason: (error as Error).message };
  }
}
