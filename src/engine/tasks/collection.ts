import { evaluateCondition } from '../../expr/cel.js';
import { CompozyError } from '../../errors.js';
import type { ChildItem, ChildList } from '../protocol.js';
import type { CollectionTaskConfig } from '../../config/types.js';
import type { TaskBase, TaskDef } from '../definition.js';
import { defined } from '../../config/read.js';
import type { HandlerContext, TaskKind } from './kind.js';

/** Runs its task (or tasks) once per item of `items:`, in parallel or in sequence. */
export interface CollectionTaskDef
  extends TaskBase<'collection'>, Pick<CollectionTaskConfig, 'items' | 'filter' | 'itemVar' | 'indexVar' | 'mode' | 'batch' | 'strategy' | 'maxWorkers'> {
  /** The task run per item; its id is a template over the item. */
  task?: TaskDef;
  tasks?: TaskDef[];
}

export const collectionTask: TaskKind<'collection'> = {
  type: 'collection',
  compile: (config, ctx) => ({
    itemVar: config.itemVar,
    indexVar: config.indexVar,
    ...defined({
      items: config.items,
      filter: config.filter,
      mode: config.mode,
      batch: config.batch,
      task: config.task ? ctx.child(config.task) : undefined,
      tasks: config.tasks?.map((child) => ctx.child(child)),
      strategy: config.strategy,
      maxWorkers: config.maxWorkers,
    }),
  }),
  // Each child's id is rendered with the collection's context too.
  templated: (def) => ({ templates: [def.items, ...perItem(def).map((t) => t.id)], cel: def.filter === undefined ? [] : [def.filter] }),
};

function perItem(task: CollectionTaskDef): TaskDef[] {
  return task.task ? [task.task] : (task.tasks ?? []);
}

/** A collection's items, filtered, each bound to a child task whose id is rendered with the item. */
export function expandItems(task: CollectionTaskDef, vars: Record<string, unknown>, h: HandlerContext): { children: ChildList; itemCount: number; skippedCount: number } {
  const items = collectionItems(h.render(task.items, vars), task.id);
  const templates = perItem(task);
  if (templates.length === 0) throw new CompozyError('TASK_FAILED', `Collection task "${task.id}" has no task: to run for each item.`);
  const children: ChildItem[] = [];
  let skippedCount = 0;
  for (const [index, item] of items.entries()) {
    const itemVars = { [task.itemVar]: item, [task.indexVar]: index };
    if (task.filter && !evaluateCondition(task.filter, { ...vars, item, index, ...itemVars })) {
      skippedCount++;
      continue;
    }
    for (const [t, template] of templates.entries()) {
      children.push({ template: t, id: String(h.render(template.id, { ...vars, ...itemVars })), vars: itemVars });
    }
  }
  return { children: { templates, items: children }, itemCount: items.length, skippedCount };
}

/** `items:` as a list: arrays as they are, a JSON array string parsed, a map as {key, value} entries. */
function collectionItems(value: unknown, taskId: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' && value.trim().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // reported below with the value
    }
  }
  if (value !== null && typeof value === 'object') return Object.entries(value).map(([key, item]) => ({ key, value: item }));
  throw new CompozyError('TASK_FAILED', `items of collection "${taskId}" rendered to ${JSON.stringify(value)}, not a list.`, {
    hint: 'Point items: at an array, e.g. "{{ .tasks.x.output.list }}".',
  });
}
