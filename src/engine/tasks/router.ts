import { chooseRoute } from '../../expr/route.js';
import type { RouterTaskConfig } from '../../config/types.js';
import type { TaskBase, TaskDef } from '../definition.js';
import type { HandlerContext, TaskKind } from './kind.js';

/** Picks the next task by its condition: a route is a task id or an inline task config. */
export interface RouterTaskDef extends TaskBase<'router'>, Pick<RouterTaskConfig, 'condition'> {
  routes: Record<string, string | TaskDef>;
}

export const routerTask: TaskKind<'router'> = {
  type: 'router',
  compile: (config, ctx) => ({
    ...(config.condition !== undefined ? { condition: config.condition } : {}),
    routes: Object.fromEntries(Object.entries(config.routes).map(([key, route]) => [key, typeof route === 'string' ? route : ctx.child(route)])),
  }),
  // The condition is a template first, then CEL when it names no route (expr/route.ts).
  templated: (def) => ({ templates: [def.condition], cel: def.condition === undefined ? [] : [def.condition] }),
};

/** The route taken and the router's output (reference: condition, route_taken, router_type). */
export function takeRoute(task: RouterTaskDef, input: Record<string, unknown>, ctx: Record<string, unknown>, h: HandlerContext): { output: Record<string, unknown>; route: string | TaskDef } {
  const routes = task.routes;
  const taskVars = ctx.task !== null && typeof ctx.task === 'object' ? (ctx.task as Record<string, unknown>) : {};
  const key = chooseRoute(task.condition ?? '', routes, { ...ctx, input, with: input, task: { ...taskVars, input } }, h.templates);
  const route = routes[key] as string | TaskDef;
  return { output: { condition: task.condition ?? '', route_taken: typeof route === 'string' ? route : route.id, router_type: 'conditional' }, route };
}
