import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKsuid, ksuid } from '../../src/store/ksuid.js';
import type { ExecutionStore, TaskStateWrite } from '../../src/store/store.js';
import { errorCode } from '../helpers/errors.js';


function task(workflowExecId: string, taskId: string, extra: Partial<TaskStateWrite> = {}): TaskStateWrite {
  return { taskExecId: ksuid(), taskId, workflowExecId, workflowId: 'weather', component: 'task', status: 'RUNNING', executionType: 'basic', input: { city: 'Paris' }, ...extra };
}

/** Every contract of src/store/store.ts, run against one adapter. */
export function defineStoreConformance(name: string, open: () => Promise<ExecutionStore>): void {
  describe(`ExecutionStore conformance: ${name}`, () => {
    let store: ExecutionStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('creates an execution once; a retried create returns the stored one unchanged', async () => {
      const id = ksuid();
      const created = await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'weather', input: { city: 'Paris', n: 1.5, tags: ['a'] } });
      expect(created).toMatchObject({ workflowExecId: id, workflowId: 'weather', status: 'PENDING', input: { city: 'Paris', n: 1.5, tags: ['a'] }, output: null, error: null });
      expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);
      await store.updateWorkflowExecution(id, { status: 'RUNNING' });
      const again = await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'weather', input: { city: 'Other' } });
      expect(again).toMatchObject({ status: 'RUNNING', input: { city: 'Paris', n: 1.5, tags: ['a'] } });
      expect((await store.listWorkflowExecutions()).items).toHaveLength(1);
    });

    it('updates status, output, error and usage, leaving the rest', async () => {
      const id = ksuid();
      await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'w', input: null });
      await store.updateWorkflowExecution(id, { status: 'RUNNING' });
      const done = await store.updateWorkflowExecution(id, { status: 'FAILED', error: { message: 'boom', code: 'TASK_FAILED', details: { task: 'x' } }, output: { partial: true } });
      expect(done).toMatchObject({ status: 'FAILED', error: { message: 'boom', code: 'TASK_FAILED', details: { task: 'x' } }, output: { partial: true }, input: null });
      const usage = await store.updateWorkflowExecution(id, { usage: { tokens: 12 } });
      expect(usage).toMatchObject({ status: 'FAILED', usage: { tokens: 12 }, output: { partial: true } });
      expect(await errorCode(store.updateWorkflowExecution(ksuid(), { status: 'RUNNING' }))).toBe('STORE_NOT_FOUND');
    });

    it('task states are upserted by task execution id, so retries never duplicate; get keys them by task id', async () => {
      const id = ksuid();
      await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'weather', input: {} });
      const parent = task(id, 'activity_analysis', { executionType: 'collection' });
      await store.upsertTaskState(parent);
      await store.upsertTaskState(parent);
      const child = task(id, 'analyze-activity-0', { parentStateId: parent.taskExecId, agentId: 'tourist_guide', actionId: 'analyze_activity', component: 'agent' });
      await store.upsertTaskState(child);
      const finished = await store.upsertTaskState({ ...child, status: 'SUCCESS', output: { score: 9 } });
      expect(finished).toMatchObject({ status: 'SUCCESS', output: { score: 9 }, parentStateId: parent.taskExecId, agentId: 'tourist_guide', actionId: 'analyze_activity', toolId: null, error: null });
      const states = await store.listTaskStates(id);
      expect(states.map((s) => s.taskId)).toEqual(['activity_analysis', 'analyze-activity-0']);
      const execution = await store.getWorkflowExecution(id);
      expect(Object.keys(execution?.tasks ?? {}).sort()).toEqual(['activity_analysis', 'analyze-activity-0']);
      expect(execution?.tasks['analyze-activity-0']).toMatchObject({ executionType: 'basic', component: 'agent', status: 'SUCCESS', workflowExecId: id });
      expect(await store.getWorkflowExecution(ksuid())).toBeNull();
      expect(await errorCode(store.upsertTaskState(task(ksuid(), 'orphan')))).toBe('STORE_NOT_FOUND');
    });

    it('keeps a task state\'s token usage, and null when it has none', async () => {
      const id = ksuid();
      await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'weather', input: {} });
      const usage = { provider: 'replay', model: 'weather', input_tokens: 12, output_tokens: 3 };
      const withUsage = await store.upsertTaskState(task(id, 'agent', { usage }));
      expect(withUsage.usage).toEqual(usage);
      expect((await store.upsertTaskState(task(id, 'tool'))).usage).toBeNull();
      expect((await store.listTaskStates(id)).map((t) => t.usage)).toEqual([usage, null]);
    });

    it('lists newest first with filters and cursor pagination that never skips or repeats', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const id = ksuid();
        ids.push(id);
        await store.createWorkflowExecution({ workflowExecId: id, workflowId: i % 2 === 0 ? 'even' : 'odd', input: { i }, status: i < 3 ? 'SUCCESS' : 'RUNNING' });
        if (i % 3 === 0) await sleep(2);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.listWorkflowExecutions({ limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((e) => e.workflowExecId));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(new Set(seen).size).toBe(7);
      expect([...seen].sort()).toEqual([...ids].sort());
      const created = await Promise.all(seen.map(async (id) => (await store.getWorkflowExecution(id))?.createdAt as string));
      expect([...created].sort().reverse()).toEqual(created);
      expect((await store.listWorkflowExecutions({ workflowId: 'even' })).items.map((e) => (e.input as { i: number }).i).sort()).toEqual([0, 2, 4, 6]);
      expect((await store.listWorkflowExecutions({ status: 'SUCCESS', workflowId: 'odd' })).items.map((e) => (e.input as { i: number }).i)).toEqual([1]);
      expect((await store.listWorkflowExecutions({ limit: 500 })).nextCursor).toBeNull();
    });

    it('bad input is a typed error and stores nothing', async () => {
      expect(await errorCode(store.createWorkflowExecution({ workflowExecId: '', workflowId: 'w', input: null }))).toBe('STORE_INVALID_ARGUMENT');
      expect(await errorCode(store.createWorkflowExecution({ workflowExecId: ksuid(), workflowId: 'w', input: null, status: 'DONE' as 'SUCCESS' }))).toBe('STORE_INVALID_ARGUMENT');
      expect(await errorCode(store.createWorkflowExecution({ workflowExecId: ksuid(), workflowId: 'w', input: { big: 10n } }))).toBe('STORE_INVALID_ARGUMENT');
      expect(await errorCode(store.listWorkflowExecutions({ limit: 0 }))).toBe('STORE_INVALID_ARGUMENT');
      expect(await errorCode(store.listWorkflowExecutions({ cursor: 'not-a-cursor' }))).toBe('STORE_INVALID_ARGUMENT');
      const id = ksuid();
      await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'w', input: null });
      expect(await errorCode(store.upsertTaskState({ ...task(id, 't'), executionType: 'loop' as 'basic' }))).toBe('STORE_INVALID_ARGUMENT');
      expect(await errorCode(store.updateWorkflowExecution(id, { error: { nope: true } as unknown as { message: string } }))).toBe('STORE_INVALID_ARGUMENT');
      expect((await store.info()).executions).toBe(1);
    });

    it('counts executions by status, 0 for a status with none, and refuses an unknown status', async () => {
      const ids = [ksuid(), ksuid(), ksuid(), ksuid()];
      for (const id of ids) await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'w', input: null });
      await store.updateWorkflowExecution(ids[0] as string, { status: 'RUNNING' });
      await store.updateWorkflowExecution(ids[1] as string, { status: 'SUCCESS' });
      expect(await store.countByStatus(['PENDING', 'RUNNING', 'PAUSED'])).toEqual({ PENDING: 2, RUNNING: 1, PAUSED: 0 });
      expect(await store.countByStatus(['SUCCESS'])).toEqual({ SUCCESS: 1 });
      expect(await store.countByStatus([])).toEqual({});
      expect(await errorCode(store.countByStatus(['DONE' as 'SUCCESS']))).toBe('STORE_INVALID_ARGUMENT');
    });

    it('exists says whether an execution is stored', async () => {
      const id = ksuid();
      expect(await store.exists(id)).toBe(false);
      await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'w', input: {} });
      expect(await store.exists(id)).toBe(true);
    });

    it('readTaskContext reads the latest state of each named task with its descendants, states by exec id and a parent’s children', async () => {
      const id = ksuid();
      const other = ksuid();
      await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'w', input: { n: 1 } });
      await store.createWorkflowExecution({ workflowExecId: other, workflowId: 'w', input: {} });
      const first = task(id, 'step', { status: 'SUCCESS', output: { n: 1 } });
      const second = task(id, 'step', { status: 'SUCCESS', output: { n: 2 } });
      const parent = task(id, 'each', { executionType: 'collection' });
      const children = [0, 1, 2].map((i) => task(id, `c-${i}`, { parentStateId: parent.taskExecId, output: { i } }));
      const grandchild = task(id, 'deep', { parentStateId: children[0]?.taskExecId ?? '' });
      const unrelated = task(id, 'other');
      for (const state of [first, second, parent, ...children, grandchild, unrelated, task(other, 'step')]) await store.upsertTaskState(state);

      const context = await store.readTaskContext(id, { taskIds: ['step', 'each', 'missing'], taskExecIds: [unrelated.taskExecId, ksuid()], childrenOf: parent.taskExecId });
      expect(context?.execution).toMatchObject({ workflowExecId: id, input: { n: 1 } });
      expect(context?.tasks.map((s) => s.taskExecId)).toEqual([second.taskExecId, parent.taskExecId, ...children.map((c) => c.taskExecId), grandchild.taskExecId]);
      expect(context?.tasks[0]?.output).toEqual({ n: 2 });
      expect(context?.states.map((s) => s.taskId)).toEqual(['other']);
      expect(context?.children.map((s) => s.taskId)).toEqual(['c-0', 'c-1', 'c-2']);

      const nothing = await store.readTaskContext(id, { taskIds: [] });
      expect(nothing).toMatchObject({ tasks: [], states: [], children: [] });
      const withoutInput = await store.readTaskContext(id, { taskIds: [], withoutInput: true });
      expect(withoutInput?.execution).toMatchObject({ workflowExecId: id, workflowId: 'w', status: 'PENDING' });
      expect(withoutInput?.execution.input).toBeUndefined();
      const all = await store.readTaskContext(id, { taskIds: 'all' });
      expect(all?.tasks.map((s) => s.taskExecId)).toEqual((await store.listTaskStates(id)).map((s) => s.taskExecId));
      expect(await store.readTaskContext(ksuid(), { taskIds: 'all' })).toBeNull();
    });

    it('readTaskContext stops at the depth a template can read', async () => {
      const id = ksuid();
      await store.createWorkflowExecution({ workflowExecId: id, workflowId: 'w', input: {} });
      let parent = task(id, 'level-0', { executionType: 'parallel' });
      await store.upsertTaskState(parent);
      for (let depth = 1; depth <= 12; depth++) {
        const child = task(id, `level-${depth}`, { executionType: 'parallel', parentStateId: parent.taskExecId });
        await store.upsertTaskState(child);
        parent = child;
      }
      const context = await store.readTaskContext(id, { taskIds: ['level-0'] });
      expect(context?.tasks.map((s) => s.taskId)).toEqual(Array.from({ length: 11 }, (_, i) => `level-${i}`));
    });

    it('ping and info', async () => {
      await store.ping();
      const info = await store.info();
      expect(info.driver).toBe(store.driver);
      expect(info.executions).toBe(0);
    });
  });
}

describe('KSUID', () => {
  it('is 27 base62 characters and sorts by creation second', () => {
    const a = ksuid(Date.parse('2025-01-01T00:00:00Z'));
    const b = ksuid(Date.parse('2026-01-01T00:00:00Z'));
    expect(isKsuid(a)).toBe(true);
    expect(a).toHaveLength(27);
    expect(a < b).toBe(true);
    expect(isKsuid('nope')).toBe(false);
    expect(new Set(Array.from({ length: 1000 }, () => ksuid())).size).toBe(1000);
  });
});
