import { existsSync } from 'node:fs';
import type { Result } from 'execa';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  /** Added to the supervisor's own environment. */
  env?: Record<string, string>;
  cwd?: string;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningChild {
  pid: number;
  /** Settles once the process is gone and every line it printed has been handed on. */
  exited: Promise<ChildExit>;
  /** TERM, then KILL once the grace period has passed; resolves when the process is gone. */
  stop(): Promise<ChildExit>;
  /** KILL at once: a second Ctrl-C does not wait for the grace period. */
  kill(): void;
}

export interface SpawnOptions {
  /** How long a child has between TERM and KILL. */
  graceMs: number;
  /** One line of the child's stdout or stderr, without its newline. */
  onLine(line: string): void;
}

const SETPRIV = '/usr/bin/setpriv';
const SETSID = '/usr/bin/setsid';

/**
 * With setpriv the kernel sends `signal` to the child when its parent dies, even by SIGKILL.
 * setpriv execs the real program, so the pid we see is the child's own.
 */
export function withParentDeathSignal(command: string, args: string[], signal: 'TERM' | 'KILL' = 'TERM'): { command: string; args: string[] } {
  if (process.platform === 'linux' && existsSync(SETPRIV)) return { command: SETPRIV, args: ['--pdeathsig', signal, '--', command, ...args] };
  return { command, args };
}

/**
 * A supervised child runs in its own session and process group, so a terminal's Ctrl-C reaches only
 * the supervisor, which then stops children in order; and it gets TERM when the supervisor dies.
 * setsid (which, like setpriv, execs the program: the pid stays the child's) is used instead of
 * spawn's `detached` because execa's `cleanup` skips detached children. Without it (macOS)
 * `detached` gives the process group, and the reaper stops what a killed run left.
 */
function isolated(command: string, args: string[]): { command: string; args: string[]; detached: boolean } {
  const guarded = withParentDeathSignal(command, args);
  if (process.platform === 'linux' && existsSync(SETSID)) return { command: SETSID, args: ['--', guarded.command, ...guarded.args], detached: false };
  return { ...guarded, detached: true };
}

export function exitDescription(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function exitOf(result: Pick<Result, 'exitCode' | 'signal' | 'originalMessage' | 'shortMessage'>, spec: ChildSpec, onLine: (line: string) => void): ChildExit {
  // execa reports a process that never ran (ENOENT, EACCES) with neither an exit code nor a signal.
  if (result.exitCode === undefined && result.signal === undefined) {
    onLine(`failed to start ${spec.command}: ${result.originalMessage ?? result.shortMessage}`);
    return { code: 127, signal: null };
  }
  return { code: result.exitCode ?? null, signal: result.signal ?? null };
}

export type SpawnChild = (spec: ChildSpec, options: SpawnOptions) => RunningChild;

/**
 * What starts supervised children, with execa: `cleanup` kills a child if the supervisor exits
 * without stopping it, `forceKillAfterDelay` turns a stop into TERM → grace → KILL, and the stop
 * itself is the abort of the child's `cancelSignal`. Output is not buffered (a child runs for hours):
 * its lines go to `onLine`. execa is loaded here, once per run, so only `compozy dev` and `run` pay
 * for it, and a launch never waits on a module load.
 */
export async function childSpawner(): Promise<SpawnChild> {
  const { execa } = await import('execa');
  return (spec, options) => {
    const start = isolated(spec.command, spec.args);
    const cancel = new AbortController();
    const subprocess = execa(start.command, start.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdin: 'ignore',
      buffer: false,
      detached: start.detached,
      cleanup: true,
      forceKillAfterDelay: options.graceMs,
      cancelSignal: cancel.signal,
      reject: false,
    });
    const lines = Promise.all(
      (['stdout', 'stderr'] as const).map(async (from) => {
        for await (const line of subprocess.iterable({ from })) options.onLine(line);
      }),
    );
    const exited = Promise.all([subprocess, lines]).then(([result]) => exitOf(result, spec, options.onLine));
    return {
      pid: subprocess.pid ?? -1,
      exited,
      stop() {
        cancel.abort();
        return exited;
      },
      kill() {
        subprocess.kill('SIGKILL');
      },
    };
  };
}
