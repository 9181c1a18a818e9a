import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AppSettings } from '../config/settings.js';
import type { ProjectConfig } from '../config/types.js';
import type { ToolInvoker } from '../engine/executors.js';
import type { EngineProject } from '../engine/project.js';
import { CompozyError } from '../errors.js';
import type { ComponentHealth } from '../health.js';
import { plural } from '../platform/plural.js';
import { parseDuration } from '../config/duration.js';
import { projectEntrypoint, runtimeOf, ToolRuntime } from '../tools/runtime.js';
import { NativeTools } from '../tools/native/index.js';
import type { NativeCalls } from '../tools/native/calls.js';
import { stateDir } from '../config/project.js';
import type { EngineClient } from '../engine/client.js';
import { storeDriverOf } from './open-store.js';
import { agentDefinition, ExecutableTasks } from './routes/direct-defs.js';

/**
 * What tools are never given: the project's .compozy/, the run's state folder wherever it is
 * (COMPOZY_STATE_DIR: the store, the KV, the logs, the embedded Temporal's history), and a SQLite
 * store file set elsewhere (database.path, DB_PATH) with its WAL and shared-memory files.
 */
export function protectedStatePaths(project: Pick<ProjectConfig, 'dir'>, settings: AppSettings, runStateDir: string): string[] {
  const database = storeDriverOf(settings) === 'sqlite' ? settings.databasePath.value : undefined;
  const paths = [stateDir(project), runStateDir, ...(database ? ['', '-wal', '-shm'].map((suffix) => `${database}${suffix}`) : [])];
  return [...new Set(paths.map((path) => resolve(path)))];
}

/**
 * The tool side of a runtime: calls by id, plus the lifecycle and the `tools` health row of what runs
 * them. bindEngine gives the built-in cp__call_* tools the engine client they start executions with
 * (the client is made after the tools).
 */
export type RuntimeTools = ToolInvoker & { close(graceMs?: number): Promise<void>; health(): ComponentHealth | undefined; bindEngine?(engine: EngineClient): void };

/**
 * The executions cp__call_agent, cp__call_agents, cp__call_task and cp__call_workflow start: a direct
 * agent or task execution (the one-task definitions of the direct-execution routes) or a workflow
 * execution, stored and run on the workers like any other, awaited up to the tool's timeout; one that
 * does not end in time is canceled.
 */
function engineCalls(engine: EngineClient, project: ProjectConfig): NativeCalls {
  const tasks = new ExecutableTasks(engine, project);
  return {
    async run(request, timeoutMs) {
      const timeoutS = Math.max(1, Math.ceil(timeoutMs / 1000));
      const started =
        request.kind === 'workflow'
          ? await engine.start(request.workflowId, request.input ?? {}, request.initialTaskId === undefined ? {} : { startTaskId: request.initialTaskId })
          : await engine.startDefinition(
              request.kind === 'agent'
                ? agentDefinition(engine, project, request.agentId, { ...(request.actionId !== undefined ? { action: request.actionId } : {}), ...(request.prompt !== undefined ? { prompt: request.prompt } : {}), ...(request.with ? { with: request.with } : {}), timeoutS })
                : tasks.definition(request.taskId, request.with ? { with: request.with } : {}),
              request.with ?? {},
            );
      const { ended, execution } = await engine.waitForEnd(started.execId, timeoutMs);
      if (!ended) await engine.cancel(started.execId);
      // A direct execution's result is its one task's; a workflow's is the workflow's output.
      const state = request.kind === 'workflow' ? undefined : execution.taskStates.find((s) => s.parentStateId === null);
      const error = state?.error ?? execution.error;
      return { execId: started.execId, ended, status: execution.status, output: request.kind === 'workflow' ? execution.output : state?.output, ...(error ? { error: { message: error.message, ...(error.code ? { code: error.code } : {}) } } : {}) };
    },
  };
}

/**
 * Tools by id through the project's warm tool pool. Where tasks run, the pool starts when the project
 * has an entrypoint or declares tools (a missing entrypoint is then a `tools` row down, reloaded once
 * the file appears).
 */
export function toolInvoker(
  project: ProjectConfig,
  engine: EngineProject,
  options: { defaultTimeoutMs: number; poolSize: number; log(line: string): void; runsTasks: boolean; protectedPaths?: readonly string[] },
): RuntimeTools {
  const protectedPaths = options.protectedPaths ?? [stateDir(project)];
  const entrypoint = projectEntrypoint(project);
  const runtime = options.runsTasks && (existsSync(entrypoint) || engine.resources.tools.size > 0)
    ? new ToolRuntime({
        projectDir: project.dir,
        entrypoint,
        permissions: project.runtime.permissions,
        protectedPaths,
        ...runtimeOf(project),
        defaultTimeoutMs: options.defaultTimeoutMs,
        poolSize: options.poolSize,
        onOutput: (line, stream, pid) => options.log(`[tool ${pid}${stream === 'stderr' ? ' stderr' : ''}] ${line}`),
        onStatus: (message) => options.log(`[tools] ${message}`),
      })
    : undefined;
  let calls: NativeCalls | undefined;
  const native = project.runtime.nativeTools ? new NativeTools(project.runtime.nativeTools, { protectedPaths, agents: () => [...engine.resources.agents.values()].map((found) => found.agent), calls: () => calls }) : undefined;
  if (runtime && runtime.unenforced.length > 0) options.log(`[tools] runtime.permissions cannot enforce: ${runtime.unenforced.join('; ')}`);
  return {
    async call(toolId, input, { timeoutMs }) {
      // Built-in cp__ tools run in this process (runtime.native_tools); the config loader refuses cp__ ids for declared tools.
      if (native?.has(toolId)) return native.call(toolId, input, timeoutMs === undefined ? {} : { timeoutMs });
      const found = engine.resources.tools.get(toolId);
      if (!found) throw new CompozyError('TOOL_NOT_FOUND', `Tool "${toolId}" is not declared in the project.`);
      // A project that declares a tool has a runtime wherever tasks run; it reports a missing entrypoint itself.
      if (!runtime) {
        throw new CompozyError('WORKER_UNAVAILABLE', `Tool "${toolId}" cannot run in this process: it runs no tasks (an API without a worker), so it has no tool pool.`, {
          hint: 'Tools run on the workers: compozy worker, or serve with its in-process worker.',
        });
      }
      const { tool, inputSchema, outputSchema } = found;
      const timeout = timeoutMs ?? (tool.timeout ? parseDuration(tool.timeout) : undefined);
      return runtime.run(
        { id: tool.id, config: tool.config, env: tool.env, ...(inputSchema ? { inputSchema } : {}), ...(outputSchema ? { outputSchema } : {}), ...(timeout !== undefined ? { timeoutMs: timeout } : {}) },
        { ...tool.with, ...input },
      );
    },
    bindEngine(client) {
      calls = engineCalls(client, project);
    },
    close: (graceMs) => runtime?.close(graceMs) ?? Promise.resolve(),
    health() {
      if (!runtime) return undefined;
      const status = runtime.status();
      const backend = `${runtime.type} ×${options.poolSize}`;
      if (status.state === 'up') {
        const unenforced = runtime.unenforced.length > 0 ? `; not enforced: ${runtime.unenforced.join('; ')}` : '';
        return { name: 'tools', backend, state: 'up', path: status.entrypoint, detail: `${plural(status.tools?.length ?? 0, 'tool')}${unenforced}` };
      }
      if (status.state === 'starting') return { name: 'tools', backend, state: 'starting', path: status.entrypoint, detail: 'loading the entrypoint' };
      return { name: 'tools', backend, state: 'down', path: status.entrypoint, detail: `${status.error?.code ?? 'TOOL_ENTRYPOINT_FAILED'}: ${status.error?.message ?? 'the entrypoint did not load'}` };
    },
  };
}

