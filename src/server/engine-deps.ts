import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ProjectConfig } from '../config/types.js';
import type { MemoryService, ToolInvoker } from '../engine/executors.js';
import type { EngineProject } from '../engine/project.js';
import { CompozyError } from '../errors.js';
import { parseDuration } from '../config/duration.js';
import { ToolRuntime } from '../tools/runtime.js';

/** Tools by id through the project's warm tool pool; the pool starts only when the project has an entrypoint. */
export function toolInvoker(project: ProjectConfig, engine: EngineProject, options: { defaultTimeoutMs: number; poolSize: number; log(line: string): void }): ToolInvoker & { close(): Promise<void> } {
  const entrypoint = resolve(project.dir, project.runtime.entrypoint || './entrypoint.ts');
  const runtime = existsSync(entrypoint)
    ? new ToolRuntime({
        projectDir: project.dir,
        entrypoint,
        permissions: project.runtime.permissions,
        defaultTimeoutMs: options.defaultTimeoutMs,
        poolSize: options.poolSize,
        onOutput: (line, stream, pid) => options.log(`[tool ${pid}${stream === 'stderr' ? ' stderr' : ''}] ${line}`),
      })
    : undefined;
  return {
    async call(toolId, input, { timeoutMs }) {
      const found = engine.resources.tools.get(toolId);
      if (!found) throw new CompozyError('TOOL_NOT_FOUND', `Tool "${toolId}" is not declared in the project.`);
      if (!runtime) {
        throw new CompozyError('TOOL_ENTRYPOINT_FAILED', `Tool "${toolId}" needs the project's entrypoint ${entrypoint}, which does not exist.`, {
          hint: 'Create it (it default-exports an object of tool functions by id) or set runtime.entrypoint.',
        });
      }
      const { tool, inputSchema, outputSchema } = found;
      const timeout = timeoutMs ?? (tool.timeout ? parseDuration(tool.timeout) : undefined);
      return runtime.run(
        { id: tool.id, config: tool.config, ...(inputSchema ? { inputSchema } : {}), ...(outputSchema ? { outputSchema } : {}), ...(timeout !== undefined ? { timeoutMs: timeout } : {}) },
        { ...tool.with, ...input },
      );
    },
    close: () => runtime?.close() ?? Promise.resolve(),
  };
}

export const memoryUnavailable: MemoryService = {
  async execute(operation) {
    throw new CompozyError('MEMORY_UNAVAILABLE', `Memory task "${operation.task.id}" (${operation.operation}) needs the memory subsystem, which this build does not include yet.`);
  },
};
