import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { isPidAlive } from '../../src/platform/pids.js';
import { DevProcess, killQuietly, stopDevProcesses, waitUntilDead } from '../helpers/cli.js';
import { writeFiles } from '../helpers/files.js';
import { fixtureServerYaml } from '../helpers/mcp.js';
import { startRecordingModel, type ModelAnswer, type ModelRequest, type RecordingModel } from '../helpers/recording-model.js';

const started: DevProcess[] = [];
const strayPids: number[] = [];
let model: RecordingModel;

/** Asks for add and echo until the request carries their results, then answers with what they said. */
function scripted(request: ModelRequest): ModelAnswer {
  const results = (request.messages ?? []).filter((m) => m.role === 'tool').map((m) => String(m.content));
  if (results.length === 0) return { toolCalls: [{ id: 'c1', name: 'add', arguments: { a: 40, b: 2 } }, { id: 'c2', name: 'echo', arguments: { text: 'olá' } }] };
  return `add said ${results[0]}, echo said ${results[1]}`;
}

beforeAll(async () => {
  model = await startRecordingModel(scripted);
});
afterAll(() => model.close());
afterEach(async () => {
  await stopDevProcesses(started);
  strayPids.splice(0).forEach(killQuietly);
});

interface McpRow {
  id: string;
  state: string | null;
  pid: number | null;
  restarts: number | null;
  tools: string[];
}

async function mcpRow(apiUrl: string): Promise<McpRow> {
  const body = (await (await fetch(`${apiUrl}/api/v0/mcps`)).json()) as { data: { mcps: McpRow[] } };
  return body.data.mcps[0] as McpRow;
}

/** Polls GET /api/v0/mcps until `done` holds (bounded by the test's timeout). */
async function untilRow(apiUrl: string, done: (row: McpRow) => boolean): Promise<McpRow> {
  for (;;) {
    const row = await mcpRow(apiUrl).catch(() => undefined);
    if (row && done(row)) return row;
    await sleep(100);
  }
}

async function runWorkflow(apiUrl: string): Promise<{ output: unknown; status: string }> {
  const response = await fetch(`${apiUrl}/api/v0/workflows/math/executions/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: {} }) });
  const body = (await response.json()) as { data: { output: unknown; workflow: { status: string } } };
  return { output: body.data.output, status: body.data.workflow.status };
}

describe('an MCP server under compozy dev', () => {
  it('serve starts the stdio server, the agent calls add and echo and the model gets their results; a crash restarts it, SIGKILL of serve and Ctrl-C of dev leave no server behind', async () => {
    const dir = writeFiles({
      'compozy.yaml': `name: mcp-e2e\nmodels:\n  - provider: openai-compatible\n    model: local-model\n    api_url: "{{ .env.LLM_URL }}"\n    default: true\nworkflows:\n  - source: ./math.yaml\nmcps:\n${fixtureServerYaml('calc')}`,
      'math.yaml': 'id: math\nagents:\n  - id: calculator\n    instructions: Use the tools.\ntasks:\n  - id: ask\n    agent: calculator\n    prompt: add 40 and 2, then echo olá\n',
    });
    const dev = new DevProcess([dir, '--port', '0', '--no-watch'], { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1', LLM_URL: model.url });
    started.push(dev);
    const ready = await dev.waitFor('ready', 1, 90_000);
    const apiUrl = ready.apiUrl as string;
    const first = await untilRow(apiUrl, (row) => row.state === 'up');
    expect(first).toMatchObject({ id: 'calc', restarts: 0, tools: ['add', 'echo'] });
    strayPids.push(first.pid as number);

    model.requests.splice(0);
    expect(await runWorkflow(apiUrl)).toEqual({ status: 'SUCCESS', output: { ask: { output: { response: 'add said 42, echo said olá' } } } });
    expect((model.requests[0]?.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toEqual(['add', 'echo']);
    expect((model.requests[1]?.messages ?? []).filter((m) => m.role === 'tool').map((m) => m.content)).toEqual(['42', 'olá']);

    const health = (await (await fetch(`${apiUrl}/api/v0/health`)).json()) as { data: HealthReport };
    expect(health.data.components.find((c) => c.name === 'mcp:calc')).toMatchObject({ backend: 'stdio', state: 'up', pid: first.pid, restarts: 0, detail: expect.stringMatching(/^2 tools, protocol /) });

    process.kill(first.pid as number, 'SIGKILL');
    const restarted = await untilRow(apiUrl, (row) => row.state === 'up' && row.pid !== first.pid);
    expect(restarted.restarts).toBe(1);
    strayPids.push(restarted.pid as number);
    model.requests.splice(0);
    expect((await runWorkflow(apiUrl)).output).toEqual({ ask: { output: { response: 'add said 42, echo said olá' } } });

    const serve = (ready.health as HealthReport).components.find((c) => c.name === 'api')?.pid as number;
    process.kill(serve, 'SIGKILL');
    expect(await waitUntilDead([restarted.pid as number], 10_000)).toEqual([]);
    await dev.waitFor('ready', 2, 90_000);
    const third = await untilRow(apiUrl, (row) => row.state === 'up');
    strayPids.push(third.pid as number);
    expect(isPidAlive(third.pid as number)).toBe(true);

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(isPidAlive(third.pid as number)).toBe(false);
  }, 240_000);
});
