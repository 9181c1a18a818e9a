import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

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
 * setsid (which, like setpriv, execs the program: the pid stays the child's) gives it its own
 * session as well. Without it (macOS) spawn's `detached` gives the process group, and the reaper
 * stops what a killed run left.
 */
function isolated(command: string, args: string[]): { command: string; args: string[]; detached: boolean } {
  const guarded = withParentDeathSignal(command, args);
  if (process.platform === 'linux' && existsSync(SETSID)) return { command: SETSID, args: ['--', guarded.command, ...guarded.args], detached: false };
  return { ...guarded, detached: true };
}

export function exitDescription(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

export type SpawnChild = (spec: ChildSpec, options: SpawnOptions) => RunningChild;

/**
 * What starts supervised children (node:child_process, which a start-up has loaded already: execa
 * took 0.1 s to import on every dev and cold run): a stop is TERM, then KILL once the grace period
 * has passed; a child still running when this process exits gets TERM, as a safety net
 * behind the ordered stops and the parent-death signal. Output is not buffered (a child runs for
 * hours): its lines, the last one without a newline too, go to `onLine`, all of them before `exited`
 * settles.
 */
export function childSpawner(): SpawnChild {
  return (spec, options) => {
    const start = isolated(spec.command, spec.args);
    const child = spawn(start.command, start.args, { cwd: spec.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: start.detached });
    const killWithUs = () => child.kill('SIGTERM');
    process.once('exit', killWithUs);
    let failure: Error | undefined;
    child.once('error', (error) => (failure = error));
    const lines = [child.stdout, child.stderr].map((stream) => new Promise<void>((done) => createInterface({ input: stream, crlfDelay: Infinity }).on('line', options.onLine).once('close', done)));
    const closed = new Promise<ChildExit>((done) => child.once('close', (code, signal) => done({ code, signal })));
    const exited = Promise.all([closed, ...lines]).then(([exit]) => {
      process.off('exit', killWithUs);
      // A program that never ran (ENOENT, EACCES) has neither an exit code nor a signal.
      if (failure && exit.code === null && exit.signal === null) {
        options.onLine(`failed to start ${spec.command}: ${failure.message}`);
        return { code: 127, signal: null };
      }
      return exit;
    });
    return {
      pid: child.pid ?? -1,
      exited,
      stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const force = setTimeout(() => child.kill('SIGKILL'), options.graceMs);
          void exited.finally(() => clearTimeout(force));
        }
        return exited;
      },
      kill() {
        child.kill('SIGKILL');
      },
    };
  };
}
