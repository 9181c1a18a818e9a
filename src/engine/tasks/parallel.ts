import type { ParallelTaskConfig } from '../../config/types.js';
import type { TaskBase, TaskDef } from '../definition.js';
import type { TaskKind } from './kind.js';

/** Runs its tasks concurrently (at most max_workers at once) and settles by its strategy. */
export interface ParallelTaskDef extends TaskBase<'parallel'>, Pick<ParallelTaskConfig, 'strategy' | 'maxWorkers'> {
  tasks: TaskDef[];
}

export const parallelTask: TaskKind<'parallel'> = {
  type: 'parallel',
  compile: (config, ctx) => ({
    tasks: config.tasks.map((child) => ctx.child(child)),
    ...(config.strategy !== undefined ? { strategy: config.strategy } : {}),
    ...(config.maxWorkers !== undefined ? { maxWorkers: config.maxWorkers } : {}),
  }),
  templated: () => ({ templates: [], cel: [] }),
};
