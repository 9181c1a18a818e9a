/**
 * The names the engine's activities are registered under (EngineActivities.functions has exactly
 * these). Known before the engine loads: the workflow thread, started ahead of it, checks that a local
 * activity a workflow schedules is one of them.
 */
export const ENGINE_ACTIVITY_NAMES = [
  'executeTask',
  'beginTask',
  'recordTask',
  'routeTask',
  'aggregateTask',
  'expandCollection',
  'finishParent',
  'settleWait',
  'markWorkflow',
  'completeWorkflow',
  'openScheduledRun',
] as const;

export type EngineActivityName = (typeof ENGINE_ACTIVITY_NAMES)[number];
