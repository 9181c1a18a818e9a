import { Client, Connection } from '@temporalio/client';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { isPidAlive } from '../../src/platform/pids.js';
import { copyFixture, DevProcess, stopDevProcesses } from '../helpers/cli.js';

/**
 * The slow group: executions as large as the engine promises to run, through `compozy dev`. CI runs
 * it with the rest of `npm test`.
 */

/** Temporal terminates a run at 51,200 history events and warns at 10,240. */
const HISTORY_WARN_EVENTS = 10_240;
const CHAIN_LENGTH = 1000;

const started: DevProcess[] = [];
let dev: DevProcess;
let api: string;
let temporalAddress: string;
let pids: number[];

function chainYaml(): string {
  const tasks = Array.from({ length: CHAIN_LENGTH }, (_, i) => {
    const n = i === 0 ? '1' : `{{ add .tasks.t-${i - 1}.output.n 1 }}`;
    return `  - id: t-${i}\n    tool: echo\n    with: { n: "${n}" }\n${i + 1 < CHAIN_LENGTH ? `    on_success: { next: t-${i + 1} }\n` : ''}`;
  });
  return `id: chain\ntools:\n  - id: echo\ntasks:\n${tasks.join('')}outputs:\n  last: "{{ .tasks.t-${CHAIN_LENGTH - 1}.output.n }}"\n`;
}

async function run(workflow: string, input: unknown): Promise<{ execId: string; execution: { status: string; output: unknown; tasks: Record<string, { status: string; parent_state_id: string | null; execution_type: string }> } }> {
  const response = await fetch(`${api}/api/v0/workflows/${workflow}/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  expect(response.status).toBe(202);
  const execId = ((await response.json()) as { data: { exec_id: string } }).data.exec_id;
  for (;;) {
    const { data } = (await (await fetch(`${api}/api/v0/executions/workflows/${execId}`)).json()) as { data: { status: string; output: unknown; tasks: Record<string, never> } };
    if (!['PENDING', 'RUNNING'].includes(data.status)) return { execId, execution: data };
    await sleep(1000);
  }
}

/** Every run of the execution's workflow, with its history length, and every batch child workflow's. */
async function histories(execId: string): Promise<{ runs: { status: string; events: number }[]; batches: number[] }> {
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection });
    const runs = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = '${execId}'` })) runs.push({ status: run.status.name, events: run.historyLength });
    const batches = [];
    for await (const run of client.workflow.list({ query: `WorkflowType = 'compozyBatch'` })) if (run.workflowId.startsWith(execId)) batches.push(run.historyLength);
    return { runs, batches };
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  const project = copyFixture('large');
  writeFileSync(join(project, 'workflows', 'chain.yaml'), chainYaml());
  writeFileSync(join(project, 'compozy.yaml'), readFileSync(join(project, 'compozy.yaml'), 'utf8').replace('runtime:', '  - source: ./workflows/chain.yaml\nruntime:'));
  dev = new DevProcess([project, '--port', '0'], { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' });
  started.push(dev);
  const ready = await dev.waitFor('ready', 1, 120_000);
  api = ready.apiUrl as string;
  temporalAddress = ready.temporalAddress as string;
  pids = (ready.health as HealthReport).components.flatMap((c) => (c.pid === undefined || c.pid === null ? [] : [c.pid]));
}, 180_000);

afterAll(async () => {
  await stopDevProcesses(started);
  expect(pids.filter(isPidAlive)).toEqual([]);
});

describe('large executions', () => {
  it('a collection of 10,000 items completes within Temporal’s history limits, with the usual state shapes', async () => {
    const { execId, execution } = await run('items', { count: 10_000 });
    expect(execution.status).toBe('SUCCESS');
    expect(execution.output).toEqual({ processed: '10000' });
    const states = Object.values(execution.tasks);
    expect(states).toHaveLength(10_002);
    const parent = execution.tasks.each;
    expect(parent).toMatchObject({ status: 'SUCCESS', execution_type: 'collection' });
    const children = Object.entries(execution.tasks).filter(([id]) => id.startsWith('item-'));
    expect(children).toHaveLength(10_000);
    expect(children.every(([, s]) => s.status === 'SUCCESS' && s.parent_state_id === (parent as unknown as { task_exec_id: string }).task_exec_id)).toBe(true);
    const { runs, batches } = await histories(execId);
    expect(runs.map((r) => r.status)).toContain('COMPLETED');
    expect(Math.max(...runs.map((r) => r.events), ...batches)).toBeLessThan(HISTORY_WARN_EVENTS);
    expect(batches).toHaveLength(20);
  }, 900_000);

  it('a workflow of 1,000 tasks completes, continuing as new, each task reading the one before', async () => {
    const { execId, execution } = await run('chain', {});
    expect(execution.status).toBe('SUCCESS');
    expect(execution.output).toEqual({ last: String(CHAIN_LENGTH) });
    expect(Object.keys(execution.tasks)).toHaveLength(CHAIN_LENGTH);
    const { runs } = await histories(execId);
    expect(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length).toBeGreaterThan(0);
    expect(Math.max(...runs.map((r) => r.events))).toBeLessThan(HISTORY_WARN_EVENTS);
  }, 900_000);
});
