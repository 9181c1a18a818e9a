import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TaskIds } from '../../src/engine/task-ids.js';
import { startHarness, TOOLS_YAML, WORKFLOW_BUNDLE, writeProject, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness(inject('temporalBin'), 'replay-test');
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('task execution ids under replay', () => {
  it('are the ones the run derives from its own state, and the history replays without a determinism error', async () => {
    const project = writeProject({
      'workflows/fan.yaml': `id: fan\n${TOOLS_YAML}tasks:
  - id: first
    tool: echo
    with: { n: 1 }
    on_success: { next: each }
  - id: each
    type: collection
    items: [10, 20, 30]
    task:
      id: "child-{{ .index }}"
      tool: echo
      with: { n: "{{ .item }}" }
`,
    });
    const execution = await h.run(project, 'fan');
    expect(execution.status).toBe('SUCCESS');
    const handle = h.client.workflow.getHandle(execution.workflowExecId);
    const info = await handle.describe();

    const ids = new TaskIds(execution.workflowExecId, info.runId, info.startTime.getTime());
    const first = ids.next('first');
    const each = ids.next('each');
    const expected = new Map([
      ['first', first],
      ['each', each],
      ...[0, 1, 2].map((i) => [`child-${i}`, ids.next(`${each}/${i}:child-${i}`)] as const),
    ]);
    const stored = new Map(execution.taskStates.map((s) => [s.taskId, s.taskExecId]));
    expect(stored).toEqual(expected);

    const history = await handle.fetchHistory();
    await expect(Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, history, execution.workflowExecId)).resolves.toBeUndefined();
  }, 60_000);
});
