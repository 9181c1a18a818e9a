import type { ExecutionStore } from '../../src/store/store.js';

/** Rows an ExecutionStore read returned: one for an execution, one per task state. */
export interface ReadCount {
  calls: number;
  rows: number;
}

/**
 * Wraps a store and counts what its read methods return, so a test can say how the engine's reads grow
 * with an execution (counted in rows, not time).
 */
export function countingStore(store: ExecutionStore): { store: ExecutionStore; count: ReadCount; reset(): void } {
  const count: ReadCount = { calls: 0, rows: 0 };
  const add = (rows: number) => {
    count.calls++;
    count.rows += rows;
  };
  const counted: ExecutionStore = {
    driver: store.driver,
    createWorkflowExecution: (e) => store.createWorkflowExecution(e),
    updateWorkflowExecution: (id, patch) => store.updateWorkflowExecution(id, patch),
    upsertTaskState: (state) => store.upsertTaskState(state),
    async getWorkflowExecution(id) {
      const execution = await store.getWorkflowExecution(id);
      add(execution ? 1 + execution.taskStates.length : 1);
      return execution;
    },
    async exists(id) {
      add(1);
      return store.exists(id);
    },
    async readTaskContext(id, query) {
      const context = await store.readTaskContext(id, query);
      add(context ? 1 + context.tasks.length + context.states.length + context.children.length : 1);
      return context;
    },
    async listWorkflowExecutions(options) {
      const page = await store.listWorkflowExecutions(options);
      add(Math.max(1, page.items.length));
      return page;
    },
    async listTaskStates(id) {
      const states = await store.listTaskStates(id);
      add(Math.max(1, states.length));
      return states;
    },
    async countByStatus(statuses) {
      add(1);
      return store.countByStatus(statuses);
    },
    ping: () => store.ping(),
    info: () => store.info(),
    close: () => store.close(),
  };
  return {
    store: counted,
    count,
    reset() {
      count.calls = 0;
      count.rows = 0;
    },
  };
}
