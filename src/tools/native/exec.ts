import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { NativeExecCommand, NativeToolsConfig } from '../../config/native-tools.js';
import { inheritedToolEnvironment } from '../sandbox.js';
import { nativeError } from './errors.js';
import type { Roots } from './roots.js';

const TOOL = 'cp__exec';
/** Go engine exec/types.go defaultArgPattern. */
const DEFAULT_ARG = /^[\w\-./@=+:,]+$/;
/** Go engine exec/config.go discoverDefaultCommands: found on PATH, additional arguments allowed. */
const DEFAULT_COMMANDS: Array<{ name: string; description: string; maxArgs: number }> = [
  { name: 'ls', description: 'List files within a directory', maxArgs: 12 },
  { name: 'pwd', description: 'Print current directory', maxArgs: 12 },
  { name: 'cat', description: 'Concatenate and print files', maxArgs: 12 },
  { name: 'grep', description: 'Search for patterns', maxArgs: 12 },
  { name: 'find', description: 'Find files', maxArgs: 12 },
  { name: 'head', description: 'Display file start', maxArgs: 12 },
  { name: 'tail', description: 'Display file end', maxArgs: 12 },
  { name: 'echo', description: 'Echo arguments', maxArgs: 12 },
  { name: 'stat', description: 'Show file status', maxArgs: 12 },
  { name: 'wc', description: 'Word count', maxArgs: 12 },
  { name: 'sleep', description: 'Sleep for duration', maxArgs: 1 },
];

function lookPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return resolve(candidate);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The allow-list: the Go engine's default commands found on PATH, then runtime.native_tools.exec.allowlist by path. */
export function commandPolicies(config: NativeToolsConfig, env: NodeJS.ProcessEnv = process.env): Map<string, NativeExecCommand> {
  const policies = new Map<string, NativeExecCommand>();
  for (const spec of DEFAULT_COMMANDS) {
    const path = lookPath(spec.name, env.PATH);
    if (path) policies.set(path, { path, description: spec.description, maxArgs: spec.maxArgs, allowAdditional: true, arguments: [] });
  }
  for (const entry of config.exec.allowlist) policies.set(entry.path, entry);
  return policies;
}

function checkArguments(args: readonly string[], policy: NativeExecCommand): void {
  if (args.length > policy.maxArgs) throw nativeError(TOOL, 'InvalidArgument', `received ${args.length} arguments, more than the ${policy.maxArgs} allowed`, { max: policy.maxArgs });
  const rules = policy.arguments;
  args.forEach((value, index) => {
    if (index < rules.length || rules.some((r) => r.index === index)) return;
    if (rules.length > 0 && !policy.allowAdditional) throw nativeError(TOOL, 'InvalidArgument', `unexpected argument at position ${index}`, { index });
    if (!DEFAULT_ARG.test(value)) throw nativeError(TOOL, 'InvalidArgument', `argument ${index} contains disallowed characters`, { index });
  });
  for (const rule of rules) {
    const value = args[rule.index];
    if (value === undefined) {
      if (rule.optional) continue;
      throw nativeError(TOOL, 'InvalidArgument', `missing required argument at position ${rule.index}`, { index: rule.index });
    }
    if (rule.enum && !rule.enum.includes(value)) throw nativeError(TOOL, 'InvalidArgument', `argument ${rule.index} is not in the allowed set (${rule.enum.join(', ')})`, { index: rule.index });
    if (rule.pattern && !new RegExp(rule.pattern, 'u').test(value)) throw nativeError(TOOL, 'InvalidArgument', `argument ${rule.index} does not match pattern ${rule.pattern}`, { index: rule.index });
  }
}

/**
 * Arguments that name a path (contain a "/", start with "..", or are ".compozy"; the value of
 * --flag=value too) must stay in the roots and out of the state folder. The Go engine checks only the
 * allow-list and the characters.
 */
async function confineArguments(roots: Roots, args: readonly string[], cwd: string): Promise<void> {
  for (const arg of args) {
    const value = arg.startsWith('-') && arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg;
    if (value.includes('/') || value.startsWith('..') || value === '.compozy') await roots.resolve(TOOL, value, 'args', cwd);
  }
}

class Capture {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    if (chunk.length > room) this.truncated = true;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface ExecInput {
  command: string;
  args?: string[];
  working_dir?: string;
  timeout_ms?: number;
  env?: Record<string, string>;
}

export async function execCommand(config: NativeToolsConfig, policies: ReadonlyMap<string, NativeExecCommand>, roots: Roots, input: ExecInput, capMs?: number): Promise<Record<string, unknown>> {
  const command = input.command.trim();
  if (command === '') throw nativeError(TOOL, 'InvalidArgument', 'command must be provided', { field: 'command' });
  const policy = policies.get(resolve(command));
  if (!isAbsolute(command) || !policy) {
    throw nativeError(TOOL, 'CommandNotAllowed', `command "${command}" is not allowlisted (allowed: ${[...policies.keys()].sort().join(', ') || 'none'})`, { command });
  }
  const args = input.args ?? [];
  checkArguments(args, policy);
  const cwd = input.working_dir?.trim() ? (await roots.resolve(TOOL, input.working_dir, 'working_dir')).path : config.rootDir;
  await confineArguments(roots, args, cwd);
  const timeouts = [policy.timeoutMs ?? config.exec.timeoutMs, input.timeout_ms, capMs].filter((t): t is number => t !== undefined && t > 0);
  const timeoutMs = Math.min(...timeouts);
  const stdout = new Capture(config.exec.maxStdoutBytes);
  const stderr = new Capture(config.exec.maxStderrBytes);
  const started = performance.now();
  const child = spawn(policy.path, args, { cwd, env: { ...inheritedToolEnvironment(process.env), ...input.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // The command's whole process group: a shell's children would keep the output pipes open.
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, timeoutMs);
  const exitCode = await new Promise<number>((done, fail) => {
    child.on('error', (error) => fail(nativeError(TOOL, 'Internal', `failed to execute command: ${error.message}`, { command: policy.path })));
    child.on('close', (code) => done(code ?? -1));
  }).finally(() => clearTimeout(timer));
  const code = timedOut ? -1 : exitCode;
  return {
    stdout: stdout.text(),
    stderr: stderr.text(),
    exit_code: code,
    success: code === 0 && !timedOut,
    duration_ms: Math.round(performance.now() - started),
    timed_out: timedOut,
    stdout_truncated: stdout.truncated,
    stderr_truncated: stderr.truncated,
  };
}
