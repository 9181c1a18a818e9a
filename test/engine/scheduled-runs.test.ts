import { afterAll, describe, expect, it } from 'vitest';
import { ScheduledRuns } from '../../src/engine/activities/scheduled-runs.js';
import type { WorkflowDef } from '../../src/engine/definition.js';
import { ksuid } from '../../src/store/ksuid.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const store = SqliteStore.open(':memory:');
afterAll(() => store.close());

const def: WorkflowDef = { id: 'tick', env: {}, tasks: [], maxNestingDepth: 20, inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } };
const runs = new ScheduledRuns(store, new Map([['tick', def]]));

describe('a scheduled run opens a normal execution', () => {
  it('records it PENDING with the schedule input and gives the interpreter its input; a retried open changes nothing', async () => {
    const execId = ksuid();
    expect(await runs.open({ workflowId: 'tick', input: { n: 7 }, execId })).toEqual({ def, execId });
    expect(await runs.open({ workflowId: 'tick', input: { n: 7 }, execId })).toEqual({ def, execId });
    expect(await store.getWorkflowExecution(execId)).toMatchObject({ workflowExecId: execId, workflowId: 'tick', status: 'PENDING', input: { n: 7 } });
    expect((await store.listWorkflowExecutions()).items.filter((e) => e.workflowExecId === execId)).toHaveLength(1);
  });

  it('an input the schema refuses, or a workflow the project lacks, is a FAILED execution saying why, and nothing runs', async () => {
    const bad = ksuid();
    expect(await runs.open({ workflowId: 'tick', input: { n: 'many' }, execId: bad })).toBeNull();
    expect(await store.getWorkflowExecution(bad)).toMatchObject({ status: 'FAILED', error: { code: 'INPUT_INVALID', message: "the schedule's input does not match the input schema of workflow tick: /n must be number" } });
    const gone = ksuid();
    expect(await runs.open({ workflowId: 'tock', input: {}, execId: gone })).toBeNull();
    expect(await store.getWorkflowExecution(gone)).toMatchObject({ workflowId: 'tock', status: 'FAILED', error: { code: 'WORKFLOW_NOT_FOUND' } });
  });
});
