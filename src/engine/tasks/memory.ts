import type { TaskBase } from '../definition.js';
import type { HandlerContext, TaskKind, TaskRunResult } from './kind.js';

/** An operation on a conversation memory (read, write, append, delete, flush, health, clear, stats). */
export interface MemoryTaskDef extends TaskBase<'memory'> {
  memory: { operation: string; memoryRef?: string; keyTemplate?: string; payload?: unknown };
}

export const memoryTask: TaskKind<'memory'> = {
  type: 'memory',
  compile: (config) => ({
    memory: {
      operation: config.operation ?? '',
      ...(config.memoryRef !== undefined ? { memoryRef: config.memoryRef } : {}),
      ...(config.keyTemplate !== undefined ? { keyTemplate: config.keyTemplate } : {}),
      ...(config.payload !== undefined ? { payload: config.payload } : {}),
    },
  }),
  templated: (def) => ({ templates: [def.memory.keyTemplate, def.memory.payload], cel: [] }),
};

export async function runMemory(task: MemoryTaskDef, ctx: Record<string, unknown>, h: HandlerContext): Promise<TaskRunResult> {
  const { memory } = task;
  const key = memory.keyTemplate === undefined ? '' : String(h.render(memory.keyTemplate, ctx));
  const payload = memory.payload === undefined ? undefined : h.render(memory.payload, ctx);
  const raw = await h.deps.memory.execute({
    operation: memory.operation,
    key,
    task,
    ...(memory.memoryRef !== undefined ? { memoryRef: memory.memoryRef } : {}),
    ...(payload !== undefined ? { payload } : {}),
  });
  return { raw };
}
