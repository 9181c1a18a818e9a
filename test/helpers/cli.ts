import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPidAlive } from '../../src/platform/pids.js';
import { tempDir } from './fake-bin.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const BIN = join(REPO, 'bin', 'compozy.js');

/** A fresh copy of a fixture project, so runs never share .compozy/. */
export function copyFixture(name: string): string {
  const dir = join(tempDir('project'), name);
  cpSync(join(REPO, 'test', 'fixtures', name), dir, { recursive: true });
  return dir;
}

/** A fresh copy of a packaged example, without the state or results of runs made in the repo. */
export function copyExample(name: string): string {
  const dir = join(tempDir('example'), name);
  cpSync(join(REPO, 'examples', name), dir, { recursive: true, filter: (src) => !src.includes('.compozy') && !/results\.(json|txt)$/.test(src) });
  return dir;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** A long-running compozy command (serve, start, worker) with its stdout and stderr collected. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, CI: '1', NO_COLOR: '1' } });
    this.child.stdout.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((done) => this.child.on('close', (code) => done(code)));
  }

  async waitForOutput(text: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.output.includes(text)) {
      if (this.child.exitCode !== null) break;
      await sleep(50);
    }
    if (!this.output.includes(text)) throw new Error(`no "${text}" in:\n${this.output}`);
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

export type JsonEvent = Record<string, unknown> & { event: string };

/** A running `compozy dev --json`, with its JSON Lines events collected as they arrive. */
export class DevProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: JsonEvent[] = [];
  readonly nonJsonStdout: string[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private buffer = '';

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [BIN, 'dev', ...args, '--json'], { env: { ...process.env, ...env } });
    this.child.stdout.on('data', (chunk: Buffer) => {
      const lines = (this.buffer + chunk.toString()).split('\n');
      this.buffer = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.events.push(JSON.parse(line) as JsonEvent);
        } catch {
          this.nonJsonStdout.push(line);
        }
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((done) => this.child.on('close', (code) => done(code)));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Waits for the nth (1-based) event of a kind. */
  async waitFor(kind: string, nth = 1, timeoutMs = 45_000): Promise<JsonEvent> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const matching = this.events.filter((e) => e.event === kind);
      if (matching.length >= nth) return matching[nth - 1] as JsonEvent;
      if (this.child.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(`no "${kind}" event #${nth}; events: ${JSON.stringify(this.events)}\nstderr:\n${this.stderr.slice(-3000)}`);
  }
}

/** Stops (SIGINT) every dev process a test started that still runs, and waits for it. */
export async function stopDevProcesses(started: DevProcess[]): Promise<void> {
  for (const dev of started.splice(0)) {
    if (dev.child.exitCode === null) {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
  }
}

export async function waitUntilDead(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pids.some(isPidAlive)) await sleep(50);
  return pids.filter(isPidAlive);
}

export function killQuietly(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
