import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHarness, TOOLS_YAML, writeProject, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness(inject('temporalBin'), 'fan-out-test');
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('a wide fan-out', () => {
  it('a parallel collection of 2,100 tool children (past Temporal’s 2,000 pending activities) completes', async () => {
    const project = writeProject({
      'workflows/wide.yaml': `id: wide\n${TOOLS_YAML}tasks:
  - id: each
    type: collection
    items: "{{ .workflow.input.items }}"
    task:
      id: "c-{{ .index }}"
      tool: echo
      with: { n: "{{ .item }}" }
`,
    });
    const execution = await h.run(project, 'wide', { items: Array.from({ length: 2100 }, (_, i) => i) });
    expect(execution.status).toBe('SUCCESS');
    expect(execution.taskStates.filter((s) => s.status === 'SUCCESS')).toHaveLength(2101);
  }, 300_000);
});

describe('children in batches', () => {
  const project = () =>
    writeProject({
      'workflows/batched.yaml': `id: batched\n${TOOLS_YAML}tasks:
  - id: each
    type: collection
    strategy: best_effort
    max_workers: 200
    items: "{{ .workflow.input.items }}"
    task:
      id: "c-{{ .index }}"
      tool: sleep
      with: { ms: "{{ .workflow.input.ms }}", fail: '{{ if eq .index 7 }}boom{{ end }}' }
`,
    });

  it('a collection past one batch keeps the inline state shapes: parents, progress_info, outputs, a failed child under best_effort', async () => {
    const execution = await h.run(project(), 'batched', { items: Array.from({ length: 1100 }, (_, i) => i), ms: 0 });
    expect(execution.status).toBe('SUCCESS');
    const each = execution.tasks.each;
    const output = each?.output as { progress_info: Record<string, unknown>; outputs: Record<string, unknown> };
    expect(output.progress_info).toMatchObject({ total_children: 1100, success_count: 1099, failed_count: 1, overall_status: 'SUCCESS' });
    expect(Object.keys(output.outputs)).toHaveLength(1100);
    expect(output.outputs['c-1099']).toEqual({ slept: 0, label: null });
    const children = execution.taskStates.filter((s) => s.taskId.startsWith('c-'));
    expect(children).toHaveLength(1100);
    expect(children.every((s) => s.parentStateId === each?.taskExecId)).toBe(true);
    expect(execution.tasks['c-7']).toMatchObject({ status: 'FAILED', error: { code: 'TOOL_INPUT_INVALID', message: 'boom' } });
    const batches = [];
    for await (const run of h.client.workflow.list({ query: `WorkflowType = 'compozyBatch'` })) if (run.workflowId.startsWith(execution.workflowExecId)) batches.push(run.status.name);
    expect(batches).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
  }, 300_000);

  it('the children in flight over all batches stay within 500, as for a small parent, shared by several batches at once', async () => {
    const wide = writeProject({
      'workflows/wide-batched.yaml': `id: wide-batched\n${TOOLS_YAML}tasks:
  - id: each
    type: collection
    items: "{{ .workflow.input.items }}"
    task:
      id: "c-{{ .index }}"
      tool: sleep
      with: { ms: 200 }
`,
    });
    const engine = h.engine(wide);
    const { execId } = await engine.start('wide-batched', { items: Array.from({ length: 2100 }, (_, i) => i) });
    let maxPending = 0;
    let maxBatches = 0;
    const finished = h.finish(execId).then((execution) => ({ execution }));
    for (;;) {
      const polled = await Promise.race([finished, sleep(250).then(() => undefined)]);
      if (polled) {
        expect(polled.execution.status).toBe('SUCCESS');
        break;
      }
      let pending = 0;
      let running = 0;
      for await (const run of h.client.workflow.list({ query: `WorkflowType = 'compozyBatch'` })) {
        if (!run.workflowId.startsWith(execId)) continue;
        const described = await h.client.workflow.getHandle(run.workflowId).describe();
        if (described.status.name !== 'RUNNING') continue;
        running++;
        pending += described.raw.pendingActivities?.length ?? 0;
      }
      maxPending = Math.max(maxPending, pending);
      maxBatches = Math.max(maxBatches, running);
    }
    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(500);
    expect(maxBatches).toBeGreaterThan(1);
  }, 300_000);

  it('a terminated parent takes its running batches with it (the history service applies their parent-close policy, as the dev server runs no parent-close-policy worker)', async () => {
    const engine = h.engine(project());
    const { execId } = await engine.start('batched', { items: Array.from({ length: 1100 }, (_, i) => i), ms: 60_000 });
    const batches = async () => {
      const runs: { workflowId: string; status: string }[] = [];
      for await (const run of h.client.workflow.list({ query: `WorkflowType = 'compozyBatch'` })) if (run.workflowId.startsWith(execId)) runs.push({ workflowId: run.workflowId, status: run.status.name });
      return runs;
    };
    for (let i = 0; i < 300 && (await batches()).length === 0; i++) await sleep(100);
    const started = await batches();
    expect(started.length).toBeGreaterThan(0);
    await h.client.workflow.getHandle(execId).terminate('test');
    const statuses = async () => Promise.all(started.map(async ({ workflowId }) => (await h.client.workflow.getHandle(workflowId).describe()).status.name));
    for (let i = 0; i < 300 && (await statuses()).some((status) => status === 'RUNNING'); i++) await sleep(100);
    expect(new Set(await statuses())).toEqual(new Set(['TERMINATED']));
  }, 120_000);

  it('pause and resume reach the batches', async () => {
    const engine = h.engine(project());
    const { execId } = await engine.start('batched', { items: Array.from({ length: 1100 }, (_, i) => i), ms: 50 });
    const done = async () => (await h.store.listTaskStates(execId)).filter((s) => s.status === 'SUCCESS').length;
    for (let i = 0; i < 600 && (await done()) < 50; i++) await sleep(100);
    await engine.pause(execId);
    // Paused, the workflows start nothing new: once neither the execution nor any batch has an
    // activity or a workflow task pending, the count of finished children can no longer move.
    const busy = async () => {
      for await (const run of h.client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
        if (!run.workflowId.startsWith(execId)) continue;
        const described = await h.client.workflow.getHandle(run.workflowId).describe();
        if ((described.raw.pendingActivities?.length ?? 0) > 0 || described.raw.pendingWorkflowTask) return true;
      }
      return false;
    };
    for (let quiet = 0, i = 0; quiet < 2 && i < 300; i++) {
      await sleep(200);
      quiet = (await busy()) ? 0 : quiet + 1;
    }
    const before = await done();
    expect(before).toBeLessThan(1099);
    expect((await h.store.getWorkflowExecution(execId))?.status).toBe('PAUSED');
    await sleep(500);
    expect(await done()).toBe(before);
    await engine.resume(execId);
    const execution = await h.finish(execId);
    expect(execution.status).toBe('SUCCESS');
    expect(execution.taskStates.filter((s) => s.status === 'SUCCESS')).toHaveLength(1100);
  }, 300_000);
});
