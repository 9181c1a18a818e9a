import type { TaskType } from '../../config/types.js';
import { aggregateTask } from './aggregate.js';
import { basicTask } from './basic.js';
import { collectionTask } from './collection.js';
import { compositeTask } from './composite.js';
import type { TaskKind } from './kind.js';
import { memoryTask } from './memory.js';
import { parallelTask } from './parallel.js';
import { routerTask } from './router.js';
import { signalTask } from './signal.js';
import { waitTask } from './wait.js';

/** Every task type's home, by type: a type missing here does not compile. */
export const TASK_KINDS: { readonly [T in TaskType]: TaskKind<T> } = {
  basic: basicTask,
  router: routerTask,
  parallel: parallelTask,
  collection: collectionTask,
  aggregate: aggregateTask,
  composite: compositeTask,
  signal: signalTask,
  wait: waitTask,
  memory: memoryTask,
};
