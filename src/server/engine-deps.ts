import { existsSync } from 'node:fs';
import type { ProjectConfig } from '../config/types.js';
import type { ToolInvoker } from '../engine/executors.js';
import type { EngineProject } from '../engine/project.js';
import { CompozyError } from '../errors.js';
import type { ComponentHealth } from '../health.js';
import { plural } from '../platform/plural.js';
import { parseDuration } from '../config/duration.js';
import { projectEntrypoint, runtimeOf, ToolRuntime } from '../tools/runtime.js';
import { NativeTools } from '../tools/native/index.js';
import { stateDir } from '../config/project.js';

/** The tool side of a runtime: calls by id, plus the lifecycle and the `tools` health row of what runs them. */
export type RuntimeTools = ToolInvoker & { close(graceMs?: number): Promise<void>; health(): ComponentHealth | undefined };

/**
 * Tools by id through the project's warm tool pool. Where tasks run, the pool starts when the project
 * has an entrypoint or declares tools (a missing entrypoint is then a `tools` row down, reloaded once
 * the file appears).
 */
export function toolInvoker(
  project: ProjectConfig,
  engine: EngineProject,
  options: { defaultTimeoutMs: number; poolSize: number; log(line: string): void; runsTasks: boolean },
): RuntimeTools {
  const entrypoint = projectEntrypoint(project);
  const runtime = options.runsTasks && (existsSync(entrypoint) || engine.resources.tools.size > 0)
    ? new ToolRuntime({
        projectDir: project.dir,
        entrypoint,
        permissions: project.runtime.permissions,
        ...runtimeOf(project),
        defaultTimeoutMs: options.defaultTimeoutMs,
        poolSize: options.poolSize,
        onOutput: (line, stream, pid) => options.log(`[tool ${pid}${stream === 'stderr' ? ' stderr' : ''}] ${line}`),
        onStatus: (message) => options.log(`[tools] ${message}`),
      })
    : undefined;
  const native = project.runtime.nativeTools ? new NativeTools(project.runtime.nativeTools, { protectedPaths: [stateDir(project)] }) : undefined;
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

