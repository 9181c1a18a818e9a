import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `.compozy/run.json`: what a running `compozy dev` supervises, for `compozy status` and orphan reaping. */
export interface ChildRecord {
  pid?: number;
  state: 'starting' | 'up' | 'restarting' | 'stopped' | 'crashed';
  restarts: number;
  lastExitCode?: number | null;
  logFile: string;
  /** argv[0..] used to recognise the process when reaping, e.g. ["temporal", "start-dev"]. */
  signature: string[];
}

export interface RunState {
  version: 1;
  /** The command whose process `supervisorPid` is: a cold `compozy run` runs the engine itself; absent, `compozy dev`. */
  command?: 'dev' | 'run';
  supervisorPid: number;
  project: string;
  projectDir: string;
  mode: string;
  startedAt: string;
  apiUrl: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  children: Record<string, ChildRecord>;
}

export function runStatePath(stateDir: string): string {
  return join(stateDir, 'run.json');
}

export function readRunState(stateDir: string): RunState | undefined {
  let text: string;
  try {
    text = readFileSync(runStatePath(stateDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as RunState;
    return parsed && parsed.version === 1 && typeof parsed.supervisorPid === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Written atomically so a reader never sees half a file. */
export function writeRunState(stateDir: string, state: RunState): void {
  const path = runStatePath(stateDir);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temp, path);
}

export function removeRunState(stateDir: string): void {
  rmSync(runStatePath(stateDir), { force: true });
}
