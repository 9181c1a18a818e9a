import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { countingStore, type ReadCount } from './counting-store.js';
import { startHarness, TOOLS_YAML, writeProject, type Harness } from './harness.js';

let h: Harness;
let counter: ReturnType<typeof countingStore>;

beforeAll(async () => {
  h = await startHarness(inject('temporalBin'), 'store-reads-test', [], {
    wrapStore: (store) => {
      counter = countingStore(store);
      return counter.store;
    },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const project = () =>
  writeProject({
    'workflows/each.yaml': `id: each\n${TOOLS_YAML}tasks:
  - id: prepare
    tool: echo
    with: { items: "{{ .workflow.input.items }}" }
    on_success: { next: each }
  - id: each
    type: collection
    items: "{{ .tasks.prepare.output.items }}"
    task:
      id: "c-{{ .index }}"
      tool: echo
      with: { n: "{{ .item }}", label: "{{ .workflow.input.label }}" }
    outputs: { count: "{{ len .output }}" }
`,
  });

async function readsFor(n: number): Promise<ReadCount> {
  const p = project();
  counter.reset();
  const execution = await h.run(p, 'each', { items: Array.from({ length: n }, (_, i) => i), label: 'x' });
  expect(execution.status).toBe('SUCCESS');
  expect(execution.taskStates).toHaveLength(n + 2);
  expect(execution.tasks.each?.output).toEqual({ count: String(n) });
  return { ...counter.count };
}

describe('store reads', () => {
  it('executing a collection of n items reads O(n) rows from the store: ×10 items, at most ×11 reads', async () => {
    const small = await readsFor(100);
    const large = await readsFor(1000);
    expect(large.rows / small.rows).toBeLessThanOrEqual(11);
    expect(large.calls / small.calls).toBeLessThanOrEqual(11);
  }, 300_000);
});
