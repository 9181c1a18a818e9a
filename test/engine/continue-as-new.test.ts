import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHarness, TOOLS_YAML, writeProject, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  // A tiny history budget, so an ordinary loop crosses it several times.
  h = await startHarness(inject('temporalBin'), 'can-test', ['limit.historyCount.suggestContinueAsNew=40']);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('long executions', () => {
  it('continue as new when Temporal suggests it, carrying on from the next task with the state intact', async () => {
    const project = writeProject({
      'workflows/loop.yaml': `id: loop
${TOOLS_YAML}tasks:
  - id: step
    tool: echo
    with:
      n: '{{ if hasKey .tasks "step" }}{{ add .tasks.step.output.n 1 }}{{ else }}1{{ end }}'
    on_success: { next: check }
  - id: check
    type: router
    condition: '{{ if ge (int .tasks.step.output.n) 25 }}done{{ else }}again{{ end }}'
    routes: { again: step, done: finish }
  - id: finish
    tool: echo
    with:
      total: "{{ .tasks.step.output.n }}"
`,
    });
    const execution = await h.run(project, 'loop');
    expect(execution.status).toBe('SUCCESS');
    expect(execution.tasks.finish?.output).toEqual({ total: '25' });
    const steps = (await h.store.listTaskStates(execution.workflowExecId)).filter((s) => s.taskId === 'step');
    expect(steps.map((s) => s.output)).toEqual(Array.from({ length: 25 }, (_, i) => ({ n: String(i + 1) })));
    const runs = [];
    for await (const run of h.client.workflow.list({ query: `WorkflowId = '${execution.workflowExecId}'` })) runs.push(run.status.name);
    expect(runs.length).toBeGreaterThan(2);
    expect(runs.filter((s) => s === 'CONTINUED_AS_NEW').length).toBe(runs.length - 1);
  }, 60_000);
});
