import type { MemoryTaskOptions } from '../../config/types.js';
import { CompozyError } from '../../errors.js';
import type { TaskBase } from '../definition.js';
import type { HandlerContext, TaskKind, TaskRunResult } from './kind.js';

/** An operation on a conversation memory (read, write, append, delete, flush, health, clear, stats). */
export interface MemoryTaskDef extends TaskBase<'memory'> {
  memory: { operation: string; memoryRef?: string; keyTemplate?: string; payload?: unknown; options?: MemoryTaskOptions };
}

export const memoryTask: TaskKind<'memory'> = {
  type: 'memory',
  compile: (config, ctx) => {
    // Reference §5.1: the memory resource's key is the default; the task's key_template overrides it.
    const keyTemplate = config.keyTemplate ?? (config.memoryRef === undefined ? undefined : ctx.memoryKeys.get(config.memoryRef));
    return {
      memory: {
        operation: config.operation ?? '',
        ...(config.memoryRef !== undefined ? { memoryRef: config.memoryRef } : {}),
        ...(keyTemplate !== undefined ? { keyTemplate } : {}),
        ...(config.payload !== undefined ? { payload: config.payload } : {}),
        ...(config.memoryOptions !== undefined ? { options: config.memoryOptions } : {}),
      },
    };
  },
  templated: (def) => ({ templates: [def.memory.keyTemplate, def.memory.payload], cel: [] }),
};

/** Renders one of the task's templates; a failure names the task and the field, and nothing is written. */
function renderField(task: MemoryTaskDef, field: 'key_template' | 'payload', value: unknown, ctx: Record<string, unknown>, h: HandlerContext): unknown {
  try {
    return h.render(value, ctx);
  } catch (error) {
    if (error instanceof CompozyError || (error as { code?: unknown }).code === 'TEMPLATE_ERROR') {
      const cause = error as Error & { code: string; details?: Record<string, unknown> };
      throw new CompozyError(cause.code as CompozyError['code'], `Memory task "${task.id}": ${field}: ${cause.message}`, { details: { ...cause.details, task_id: task.id, field }, cause: error });
    }
    throw error;
  }
}

export async function runMemory(task: MemoryTaskDef, ctx: Record<string, unknown>, h: HandlerContext): Promise<TaskRunResult> {
  const { memory } = task;
  if (memory.keyTemplate === undefined) {
    throw new CompozyError('INPUT_INVALID', `Memory task "${task.id}" has no key_template, and memory "${memory.memoryRef ?? ''}" has no key to fall back on.`, {
      details: { task_id: task.id, field: 'key_template' },
      hint: 'Add key_template: "user:{{ .workflow.input.user_id }}" to the task, or key: to the memory resource.',
    });
  }
  const key = String(renderField(task, 'key_template', memory.keyTemplate, ctx, h));
  const payload = memory.payload === undefined ? undefined : renderField(task, 'payload', memory.payload, ctx, h);
  const raw = await h.deps.memory.execute({
    operation: memory.operation,
    key,
    task,
    ...(memory.memoryRef !== undefined ? { memoryRef: memory.memoryRef } : {}),
    ...(payload !== undefined ? { payload } : {}),
    ...(memory.options !== undefined ? { options: memory.options } : {}),
  });
  return { raw };
}
