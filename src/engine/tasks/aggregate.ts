import type { TaskBase } from '../definition.js';
import type { HandlerContext, TaskKind } from './kind.js';

/** Its `outputs:` rendered over the context are its output; it runs nothing. */
export type AggregateTaskDef = TaskBase<'aggregate'>;

export const aggregateTask: TaskKind<'aggregate'> = {
  type: 'aggregate',
  compile: () => ({}),
  templated: () => ({ templates: [], cel: [] }),
};

export function aggregateOutput(task: AggregateTaskDef, input: Record<string, unknown>, ctx: Record<string, unknown>, h: HandlerContext): unknown {
  return h.render(task.outputs ?? {}, { ...ctx, input, with: input });
}
