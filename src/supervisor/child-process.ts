import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningChild {
  pid: number;
  exited: Promise<ChildExit>;
  /** TERM, then KILL once graceMs has passed; resolves when the process is gone. */
  stop(graceMs: number): Promise<ChildExit>;
}

const SETPRIV = '/usr/bin/setpriv';

/**
 * With setpriv the kernel sends TERM to the child when the supervisor dies, even by SIGKILL.
 * setpriv execs the real program, so the pid we see is the child's own.
 */
export function withParentDeathSignal(command: string, args: string[], signal: 'TERM' | 'KILL' = 'TERM'): { command: string; args: string[] } {
  if (process.platform === 'linux' && existsSync(SETPRIV)) return { command: SETPRIV, args: ['--pdeathsig', signal, '--', command, ...args] };
  return { command, args };
}

export function exitDescription(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/**
 * Spawns a child in its own process group, so a terminal's Ctrl-C reaches only the supervisor,
 * which then stops children in order.
 */
export function spawnChild(spec: ChildSpec, onOutput: (chunk: Buffer) => void): RunningChild {
  const wrapped = withParentDeathSignal(spec.command, spec.args);
  const child = spawn(wrapped.command, wrapped.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const exited = new Promise<ChildExit>((resolvePromise) => {
    child.once('error', (error) => {
      onOutput(Buffer.from(`failed to start ${spec.command}: ${error.message}\n`));
      resolvePromise({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => resolvePromise({ code, signal }));
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    exited,
    async stop(graceMs: number) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const result = await Promise.race([exited, sleep(graceMs).then(() => undefined)]);
      if (result) return result;
      child.kill('SIGKILL');
      return exited;
    },
  };
}
