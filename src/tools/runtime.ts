import { join, resolve } from 'node:path';
import { PACKAGE_ROOT, stateDir } from '../config/project.js';
import type { ProjectConfig } from '../config/types.js';
import { CompozyError } from '../errors.js';
import { describeProblems, SchemaValidator } from '../platform/schema-validator.js';
import { BUN_FLAGS, bunPermissionPlan, resolveBunBinary, type BunResolveOptions } from './bun.js';
import { ToolPool, type PoolStatus } from './pool.js';
import { checkToolEnv, inheritedToolEnvironment, permissionPlan, sandboxFlags } from './sandbox.js';

/** What a tool process reads of compozy itself: the worker runtime, and the package.json that makes it an ES module. */
const COMPOZY_FILES = [join(PACKAGE_ROOT, 'dist'), join(PACKAGE_ROOT, 'package.json')];

/** The absolute path of the project's tool entrypoint (runtime.entrypoint, ./entrypoint.ts when unset). */
export function projectEntrypoint(project: Pick<ProjectConfig, 'dir' | 'runtime'>): string {
  return resolve(project.dir, project.runtime.entrypoint || './entrypoint.ts');
}

/** The runtime the project's tools run under (runtime.type, runtime.bun_bin), as ToolRuntime takes it. */
export function runtimeOf(project: Pick<ProjectConfig, 'runtime'>): Pick<ToolRuntimeOptions, 'type' | 'bun'> {
  if (project.runtime.type !== 'bun') return { type: 'node' };
  return { type: 'bun', bun: project.runtime.bunBin !== undefined ? { config: project.runtime.bunBin } : {} };
}

export interface ToolDefinition {
  id: string;
  /** JSON Schemas, already resolved from schema ids. */
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  /** Static config passed as the second argument. */
  config?: Record<string, unknown>;
  /** The tool's YAML `env:`, set in the worker's process.env for the call (a worker runs one call at a time). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface ToolRuntimeOptions {
  projectDir: string;
  /** Relative to the project (default ./entrypoint.ts). */
  entrypoint?: string;
  poolSize?: number;
  /** runtime.type: node (default) runs the tools under this Node, bun under Bun. */
  type?: 'node' | 'bun';
  /** Where to look for Bun before PATH and the bun package (runtime.type: bun). */
  bun?: BunResolveOptions;
  /** runtime.permissions */
  permissions?: readonly string[];
  /** The project's state (store, KV, logs) wherever it is, never granted to tools (default <project>/.compozy). */
  protectedPaths?: readonly string[];
  /** runtime.tool_execution_timeout in ms (default 60 s). */
  defaultTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  onOutput?: (line: string, stream: 'stdout' | 'stderr', pid: number) => void;
  /** Told when the entrypoint loads, fails to load, or reloads after it changed. */
  onStatus?: (message: string) => void;
  /** How often the entrypoint and its package.json scope are checked for changes (ms; 0: never reload). */
  watchIntervalMs?: number;
}

/**
 * Runs the project's tools: validates input against the tool's input schema, calls it in the warm
 * pool with its config, wraps a primitive result as {value}, and validates the result against the
 * output schema.
 */
export class ToolRuntime {
  private readonly pool: ToolPool;
  private readonly schemas = new SchemaValidator();
  private readonly defaultTimeoutMs: number;
  /** Restrictions implied by runtime.permissions that the runtime (Node or Bun) cannot enforce. */
  readonly unenforced: string[];
  readonly type: 'node' | 'bun';

  constructor(options: ToolRuntimeOptions) {
    const entrypoint = resolve(options.projectDir, options.entrypoint ?? './entrypoint.ts');
    this.type = options.type ?? 'node';
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    this.unenforced = [];
    let launch: { command?: string; execArgv: () => string[] };
    if (this.type === 'bun') {
      // A missing Bun or a permission Bun cannot hold makes the pool down with that error.
      let failure: CompozyError | undefined;
      let command: string | undefined;
      try {
        this.unenforced = bunPermissionPlan(options.permissions ?? []).unenforced;
        command = resolveBunBinary({ ...options.bun, env: options.env ?? process.env }).path;
      } catch (error) {
        if (!(error instanceof CompozyError)) throw error;
        failure = error;
      }
      launch = {
        ...(command ? { command } : {}),
        execArgv: () => {
          if (failure) throw failure;
          return BUN_FLAGS;
        },
      };
    } else {
      const plan = permissionPlan(options.permissions ?? []);
      const paths = { projectDir: options.projectDir, alwaysReadable: [options.projectDir, ...COMPOZY_FILES], protectedPaths: options.protectedPaths ?? [stateDir({ dir: options.projectDir })] };
      this.unenforced = plan.unenforced;
      launch = { execArgv: () => sandboxFlags(plan, paths) };
    }
    this.pool = new ToolPool({
      entrypoint,
      cwd: options.projectDir,
      size: options.poolSize ?? 2,
      env: inheritedToolEnvironment(options.env ?? process.env),
      ...launch,
      ...(this.type === 'bun' ? { encoding: 'json' as const } : {}),
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      ...(options.onStatus ? { onStatus: options.onStatus } : {}),
      ...(options.watchIntervalMs !== undefined ? { watchIntervalMs: options.watchIntervalMs } : {}),
    });
  }

  async run(tool: ToolDefinition, input: unknown): Promise<Record<string, unknown>> {
    const inputProblems = tool.inputSchema ? this.schemas.problems(tool.inputSchema, input) : [];
    if (inputProblems.length > 0) {
      throw new CompozyError('TOOL_INPUT_INVALID', `Input for tool "${tool.id}" does not match its input schema: ${describeProblems(inputProblems)}.`, {
        hint: "Fix the task's with: so it matches the tool's input schema.",
        details: { errors: inputProblems },
      });
    }
    const env = tool.env ?? {};
    checkToolEnv(env, tool.id);
    const raw = await this.pool.call(tool.id, input, tool.config ?? {}, env, tool.timeoutMs ?? this.defaultTimeoutMs);
    const result = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : { value: raw };
    const outputProblems = tool.outputSchema ? this.schemas.problems(tool.outputSchema, result) : [];
    if (outputProblems.length > 0) {
      throw new CompozyError('TOOL_OUTPUT_INVALID', `Tool "${tool.id}" returned a result that does not match its output schema: ${describeProblems(outputProblems)}.`, {
        hint: 'Fix the tool or its output schema.',
        details: { errors: outputProblems },
      });
    }
    return result;
  }

  tools(): Promise<string[]> {
    return this.pool.tools();
  }

  /** Whether the entrypoint loaded (the tools row of the health report). */
  status(): PoolStatus {
    return this.pool.status();
  }

  pids(): number[] {
    return this.pool.pids();
  }

  watchdogPid(): number | undefined {
    return this.pool.watchdogPid();
  }

  /** Stops the tool processes: TERM, then KILL after graceMs even when a tool is busy. */
  close(graceMs?: number): Promise<void> {
    return this.pool.close(graceMs);
  }
}
