import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
