import type { CompositeTaskConfig } from '../../config/types.js';
import type { TaskBase, TaskDef } from '../definition.js';
import type { TaskKind } from './kind.js';

/** Runs its tasks one after another and stops at the first that does not succeed. Its strategy is only how progress_info judges the children; they always run as wait_all. */
export interface CompositeTaskDef extends TaskBase<'composite'>, Pick<CompositeTaskConfig, 'strategy'> {
  tasks: TaskDef[];
}

export const compositeTask: TaskKind<'composite'> = {
  type: 'composite',
  compile: (config, ctx) => ({
    tasks: config.tasks.map((child) => ctx.child(child)),
    ...(config.strategy !== undefined ? { strategy: config.strategy } : {}),
  }),
  templated: () => ({ templates: [], cel: [] }),
};
