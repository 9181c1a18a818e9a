import { isAbsolute, resolve } from 'node:path';
import { isValidDuration, parseDuration } from './duration.js';
import { isObj, suggestion, type Obj, type Reader } from './read.js';
import type { YamlPath } from './yaml-file.js';

/**
 * runtime.native_tools: the built-in cp__ tools (Go engine pkg/config/native_tools.go). Durations are
 * resolved to milliseconds and roots to absolute paths; every default is the Go engine's.
 */
export interface NativeExecArgument {
  index: number;
  pattern?: string;
  enum?: string[];
  optional: boolean;
}

export interface NativeExecCommand {
  /** Absolute path of the executable. */
  path: string;
  description?: string;
  timeoutMs?: number;
  /** At most this many arguments (Go: 0 means the default, 12). */
  maxArgs: number;
  allowAdditional: boolean;
  arguments: NativeExecArgument[];
}

export interface NativeToolsConfig {
  enabled: boolean;
  /** Absolute; root_dir relative to the project directory (default: the project directory). */
  rootDir: string;
  additionalRoots: string[];
  exec: { timeoutMs: number; maxStdoutBytes: number; maxStderrBytes: number; allowlist: NativeExecCommand[] };
  fetch: { timeoutMs: number; maxBodyBytes: number; maxRedirects: number; allowedMethods: string[] };
  callAgent: { enabled: boolean; defaultTimeoutMs: number };
  /** maxConcurrent 0: one agent after the other. */
  callAgents: { enabled: boolean; defaultTimeoutMs: number; maxConcurrent: number };
  callTask: { enabled: boolean; defaultTimeoutMs: number };
  callWorkflow: { enabled: boolean; defaultTimeoutMs: number };
  callTasks: { enabled: boolean; defaultTimeoutMs: number; maxConcurrent: number };
  callWorkflows: { enabled: boolean; defaultTimeoutMs: number; maxConcurrent: number };
  /**
   * cp__agent_orchestrate: maxSteps 0 is no limit besides the planner's; maxParallel caps a parallel
   * step (Go's executor default 4); plannerMaxSteps bounds every plan (Go's compiler default 12).
   */
  agentOrchestrator: { enabled: boolean; defaultTimeoutMs: number; maxSteps: number; maxParallel: number; plannerDisabled: boolean; plannerMaxSteps: number };
}

/** The built-in tools this runtime has, by the Go engine's ids. */
export const NATIVE_TOOL_IDS = [
  'cp__exec',
  'cp__fetch',
  'cp__read_file',
  'cp__write_file',
  'cp__delete_file',
  'cp__list_files',
  'cp__list_dir',
  'cp__grep',
  'cp__list_agents',
  'cp__describe_agent',
  'cp__call_agent',
  'cp__call_agents',
  'cp__call_task',
  'cp__call_tasks',
  'cp__call_workflow',
  'cp__call_workflows',
  'cp__agent_orchestrate',
] as const;
export type NativeToolId = (typeof NATIVE_TOOL_IDS)[number];

const DEFAULT_COMMAND_MAX_ARGS = 12;

const FIELDS = new Set(['enabled', 'root_dir', 'additional_roots', 'exec', 'fetch', 'call_agent', 'call_agents', 'call_task', 'call_tasks', 'call_workflow', 'call_workflows', 'agent_orchestrator']);
/** The sections of the tools that run several children, which also take max_concurrent. */
const PLURAL_CALLS = new Set(['call_agents', 'call_tasks', 'call_workflows']);
const CALL_FIELDS = new Set(['enabled', 'default_timeout']);
const CALL_MANY_FIELDS = new Set(['enabled', 'default_timeout', 'max_concurrent']);
const EXEC_FIELDS = new Set(['timeout', 'max_stdout_bytes', 'max_stderr_bytes', 'allowlist']);
const COMMAND_FIELDS = new Set(['path', 'description', 'timeout', 'max_args', 'allow_additional', 'arguments']);
const ARGUMENT_FIELDS = new Set(['index', 'pattern', 'enum', 'optional']);
const FETCH_FIELDS = new Set(['timeout', 'max_body_bytes', 'max_redirects', 'allowed_methods']);
const ORCHESTRATOR_FIELDS = new Set(['enabled', 'default_timeout', 'max_steps', 'max_parallel', 'planner']);
const ORCHESTRATOR_UNSUPPORTED = {
  max_depth: 'Nested orchestration depth is not tracked: a plan\'s agents run as their own executions, which do not carry the depth. Remove max_depth: (each step is still bounded by its timeout).',
};
const PLANNER_FIELDS = new Set(['disabled', 'max_steps']);

function durationMs(r: Reader, obj: Obj, path: YamlPath, key: string, fallback: number): number {
  const text = r.string(obj, path, key);
  if (text === undefined) return fallback;
  if (!isValidDuration(text)) {
    r.error([...path, key], `"${key}" is not a duration: "${text}".`, 'Write a duration such as "30s", "500ms" or "2m".');
    return fallback;
  }
  return parseDuration(text);
}

function positive(r: Reader, obj: Obj, path: YamlPath, key: string, fallback: number): number {
  const value = r.number(obj, path, key);
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    r.error([...path, key], `"${key}" must be a positive whole number.`);
    return fallback;
  }
  return value;
}

/** A whole number, 0 or more (0: no limit), else the fallback with a diagnostic. */
function count(r: Reader, obj: Obj, path: YamlPath, key: string, fallback: number): number {
  const value = r.number(obj, path, key);
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    r.error([...path, key], `"${key}" must be a whole number, 0 or more.`);
    return fallback;
  }
  return value;
}

function orchestrator(r: Reader, raw: Obj, path: YamlPath): NativeToolsConfig['agentOrchestrator'] {
  const at: YamlPath = [...path, 'agent_orchestrator'];
  const section = r.map(raw, path, 'agent_orchestrator');
  r.knownKeys(section, at, ORCHESTRATOR_FIELDS, 'native_tools.agent_orchestrator', ORCHESTRATOR_UNSUPPORTED);
  const planner = r.map(section, at, 'planner');
  r.knownKeys(planner, [...at, 'planner'], PLANNER_FIELDS, 'native_tools.agent_orchestrator.planner');
  return {
    enabled: section.enabled === undefined ? true : r.bool(section, at, 'enabled'),
    defaultTimeoutMs: durationMs(r, section, at, 'default_timeout', 60_000),
    maxSteps: count(r, section, at, 'max_steps', 0),
    maxParallel: count(r, section, at, 'max_parallel', 4) || 4,
    plannerDisabled: r.bool(planner, [...at, 'planner'], 'disabled'),
    plannerMaxSteps: count(r, planner, [...at, 'planner'], 'max_steps', 12) || 12,
  };
}

/** max_concurrent of call_agents, call_tasks and call_workflows: default 10, 0 runs the agents one after the other, negative is refused (Go validate:"min=0"). */
function maxConcurrent(r: Reader, section: Obj, path: YamlPath): number {
  return count(r, section, path, 'max_concurrent', 10);
}

function command(r: Reader, raw: unknown, path: YamlPath): NativeExecCommand[] {
  if (!isObj(raw)) {
    r.error(path, 'An allowlist entry must be a mapping with path: (and description, timeout, max_args, allow_additional, arguments).');
    return [];
  }
  r.knownKeys(raw, path, COMMAND_FIELDS, 'native_tools.exec.allowlist');
  const file = r.string(raw, path, 'path', true);
  if (file === undefined) return [];
  if (!isAbsolute(file)) {
    r.error([...path, 'path'], `The command path "${file}" is not absolute.`, 'Give the absolute path of the executable, e.g. /usr/bin/git (see `command -v git`).');
    return [];
  }
  const maxArgs = r.number(raw, path, 'max_args');
  if (maxArgs !== undefined && (!Number.isInteger(maxArgs) || maxArgs < 0)) r.error([...path, 'max_args'], '"max_args" must be a whole number, 0 or more.');
  const seen = new Set<number>();
  const args = r.list(raw, path, 'arguments').flatMap((entry, i): NativeExecArgument[] => {
    const at: YamlPath = [...path, 'arguments', i];
    if (!isObj(entry)) {
      r.error(at, 'An argument rule must be a mapping with index: (and pattern, enum, optional).');
      return [];
    }
    r.knownKeys(entry, at, ARGUMENT_FIELDS, 'native_tools.exec.allowlist.arguments');
    const index = r.number(entry, at, 'index') ?? 0;
    if (!Number.isInteger(index) || index < 0) r.error([...at, 'index'], '"index" must be a whole number, 0 or more.');
    if (seen.has(index)) r.error([...at, 'index'], `Two argument rules have index ${index}.`);
    seen.add(index);
    const pattern = r.string(entry, at, 'pattern');
    if (pattern !== undefined && pattern.trim() !== '') {
      try {
        new RegExp(pattern, 'u');
      } catch (error) {
        r.error([...at, 'pattern'], `"pattern" is not a valid regular expression: ${(error as Error).message}.`);
      }
    }
    const values = r.list(entry, at, 'enum').map(String);
    return [{ index, optional: r.bool(entry, at, 'optional'), ...(pattern !== undefined && pattern.trim() !== '' ? { pattern } : {}), ...(values.length > 0 ? { enum: values } : {}) }];
  });
  const description = r.string(raw, path, 'description');
  const timeout = r.string(raw, path, 'timeout') === undefined ? undefined : durationMs(r, raw, path, 'timeout', 0);
  return [{
    path: resolve(file),
    ...(description !== undefined ? { description } : {}),
    ...(timeout ? { timeoutMs: timeout } : {}),
    maxArgs: maxArgs && maxArgs > 0 ? maxArgs : DEFAULT_COMMAND_MAX_ARGS,
    allowAdditional: r.bool(raw, path, 'allow_additional'),
    arguments: args.sort((a, b) => a.index - b.index),
  }];
}

function call(r: Reader, raw: Obj, path: YamlPath, key: string, defaultTimeoutMs: number): { enabled: boolean; defaultTimeoutMs: number } {
  const section = r.map(raw, path, key);
  r.knownKeys(section, [...path, key], PLURAL_CALLS.has(key) ? CALL_MANY_FIELDS : CALL_FIELDS, `native_tools.${key}`);
  return { enabled: section.enabled === undefined ? true : r.bool(section, [...path, key], 'enabled'), defaultTimeoutMs: durationMs(r, section, [...path, key], 'default_timeout', defaultTimeoutMs) };
}

/** Reads runtime.native_tools (undefined when the section is absent: no built-in tool is offered). */
export function readNativeTools(r: Reader, runtime: Obj, projectDir: string): NativeToolsConfig | undefined {
  if (runtime.native_tools === undefined || runtime.native_tools === null) return undefined;
  const path: YamlPath = ['runtime', 'native_tools'];
  const raw = r.map(runtime, ['runtime'], 'native_tools');
  r.knownKeys(raw, path, FIELDS, 'native_tools');
  const exec = r.map(raw, path, 'exec');
  r.knownKeys(exec, [...path, 'exec'], EXEC_FIELDS, 'native_tools.exec');
  const fetch = r.map(raw, path, 'fetch');
  r.knownKeys(fetch, [...path, 'fetch'], FETCH_FIELDS, 'native_tools.fetch');
  const execPath: YamlPath = [...path, 'exec'];
  const fetchPath: YamlPath = [...path, 'fetch'];
  const methods = fetch.allowed_methods === undefined ? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] : r.list(fetch, fetchPath, 'allowed_methods').map((m) => String(m).trim().toUpperCase()).filter((m) => m !== '');
  return {
    enabled: raw.enabled === undefined ? true : r.bool(raw, path, 'enabled'),
    rootDir: resolve(projectDir, r.string(raw, path, 'root_dir') ?? '.'),
    additionalRoots: r.list(raw, path, 'additional_roots').map((root) => resolve(projectDir, String(root))),
    exec: {
      timeoutMs: durationMs(r, exec, execPath, 'timeout', 30_000),
      maxStdoutBytes: positive(r, exec, execPath, 'max_stdout_bytes', 2 << 20),
      maxStderrBytes: positive(r, exec, execPath, 'max_stderr_bytes', 1 << 10),
      allowlist: r.list(exec, execPath, 'allowlist').flatMap((entry, i) => command(r, entry, [...execPath, 'allowlist', i])),
    },
    fetch: {
      timeoutMs: durationMs(r, fetch, fetchPath, 'timeout', 5_000),
      maxBodyBytes: positive(r, fetch, fetchPath, 'max_body_bytes', 2 << 20),
      maxRedirects: positive(r, fetch, fetchPath, 'max_redirects', 5),
      allowedMethods: methods,
    },
    callAgent: call(r, raw, path, 'call_agent', 60_000),
    callAgents: { ...call(r, raw, path, 'call_agents', 60_000), maxConcurrent: maxConcurrent(r, r.map(raw, path, 'call_agents'), [...path, 'call_agents']) },
    callTask: call(r, raw, path, 'call_task', 60_000),
    callWorkflow: call(r, raw, path, 'call_workflow', 300_000),
    callTasks: { ...call(r, raw, path, 'call_tasks', 60_000), maxConcurrent: maxConcurrent(r, r.map(raw, path, 'call_tasks'), [...path, 'call_tasks']) },
    callWorkflows: { ...call(r, raw, path, 'call_workflows', 300_000), maxConcurrent: maxConcurrent(r, r.map(raw, path, 'call_workflows'), [...path, 'call_workflows']) },
    agentOrchestrator: orchestrator(r, raw, path),
  };
}

/** Why a tool id that names a built-in tool cannot be used (undefined: it can, or it is not a cp__ id). */
export function nativeToolProblem(id: string, config: NativeToolsConfig | undefined): { message: string; hint: string } | undefined {
  if (!id.startsWith('cp__')) return undefined;
  if (!(NATIVE_TOOL_IDS as readonly string[]).includes(id)) return { message: `Built-in tool "${id}" does not exist.`, hint: suggestion(id, NATIVE_TOOL_IDS, 'built-in tool') };
  if (!config) return { message: `The built-in tool "${id}" is not enabled.`, hint: 'Add runtime.native_tools: {} to compozy.yaml (with root_dir, exec.allowlist, fetch limits as needed).' };
  if (!config.enabled) return { message: `The built-in tool "${id}" is disabled (runtime.native_tools.enabled: false).`, hint: 'Set runtime.native_tools.enabled: true, or remove the reference.' };
  const section = nativeToolSection(id, config);
  if (section && !section.enabled) return { message: `The built-in tool "${id}" is disabled (runtime.native_tools.${section.key}.enabled: false).`, hint: 'Enable it, or remove the reference.' };
  return undefined;
}

/** The runtime.native_tools section that can disable a tool on its own (the call tools and the orchestrator). */
export function nativeToolSection(id: string, config: NativeToolsConfig): { key: string; enabled: boolean } | undefined {
  const sections: Record<string, { enabled: boolean } | undefined> = {
    cp__call_agent: config.callAgent,
    cp__call_agents: config.callAgents,
    cp__call_task: config.callTask,
    cp__call_tasks: config.callTasks,
    cp__call_workflow: config.callWorkflow,
    cp__call_workflows: config.callWorkflows,
    cp__agent_orchestrate: config.agentOrchestrator,
  };
  const section = sections[id];
  return section ? { key: id === 'cp__agent_orchestrate' ? 'agent_orchestrator' : id.slice(4), enabled: section.enabled } : undefined;
}
