import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { copyExample, copyFixture, DevProcess, stopDevProcesses } from '../helpers/cli.js';

const started: DevProcess[] = [];

afterEach(() => stopDevProcesses(started));

interface Envelope {
  status: number;
  message?: string;
  data: Record<string, unknown>;
  error?: { code: string; message: string };
}

describe('compozy dev weather: sync and direct executions over HTTP, offline', () => {
  it('a sync workflow execution answers the final state; a direct agent execution answers the replay model\'s output, sync and async, or the task\'s own error', async () => {
    const project = copyExample('weather');
    const dev = new DevProcess([project, '--port', '0'], { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1', GROQ_API_KEY: '' });
    started.push(dev);
    const ready = await dev.waitFor('ready');
    const api = (ready.health as HealthReport).components.find((c) => c.name === 'api')?.address;
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${api}/api/v0${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { code: response.status, location: response.headers.get('location'), body: (await response.json()) as Envelope };
    };

    const sync = await post('/workflows/weather/executions/sync', { input: { city: 'Lisbon' }, timeout: 120 });
    expect(sync.code).toBe(200);
    expect(sync.body.data.output).toMatchObject({ city: 'Lisbon', weather: { weather: 'Clear sky', temperature: 21, humidity: 55 }, status: 'SUCCESS' });
    expect(sync.body.data.workflow).toMatchObject({ status: 'SUCCESS', workflow_id: 'weather', workflow_exec_id: sync.body.data.exec_id });

    const agent = await post('/agents/tourist_guide/executions/sync', { action: 'get_weather', with: { city: 'Porto' } });
    expect(agent.code).toBe(200);
    expect(agent.body.data).toMatchObject({ output: { weather: 'Clear sky', temperature: 21, humidity: 55 }, state: { status: 'SUCCESS', component: 'agent', workflow_id: 'agent:tourist_guide' } });
    expect((agent.body.data.state as { usage: unknown }).usage).toEqual({ provider: 'replay', model: 'weather', input_tokens: 0, output_tokens: 0 });

    const async = await post('/agents/tourist_guide/executions', { action: 'suggest_clothing', with: { weather: { weather: 'Clear sky', temperature: 21 } } });
    expect(async.code).toBe(202);
    expect(async.location).toBe(async.body.data.exec_url);
    let status: Record<string, unknown> = {};
    for (let i = 0; i < 300 && !['SUCCESS', 'FAILED'].includes(String(status.status)); i++) {
      await sleep(100);
      status = ((await (await fetch(`${api}${String(async.body.data.exec_url)}`)).json()) as Envelope).data;
    }
    expect(status).toMatchObject({ status: 'SUCCESS', task_id: 'agent:tourist_guide', error: null });
    expect(status.output).toEqual({ clothing: ['Light breathable shirt', 'Comfortable walking shoes', 'Sunglasses'] });

    // analyze_activity's prompt reads {{ .item }}, which only a collection provides: the template's own error comes back.
    const failed = await post('/agents/tourist_guide/executions/sync', { action: 'analyze_activity', with: { activity: 'Surfing' } });
    expect(failed.code).toBe(500);
    expect(failed.body).toMatchObject({ status: 500, error: { code: 'TEMPLATE_ERROR', message: expect.stringContaining('"item"') }, data: { state: { status: 'FAILED' } } });

    const unknown = await post('/agents/tourist_guide/executions', { action: 'fly' });
    expect(unknown.body).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID', message: 'Agent tourist_guide has no action "fly".' } });
    const agents = ((await (await fetch(`${api}/api/v0/agents`)).json()) as Envelope).data.agents as { id: string }[];
    expect(agents.map((a) => a.id)).toContain('tourist_guide');
    const models = ((await (await fetch(`${api}/api/v0/models`)).json()) as Envelope).data.models as Record<string, unknown>[];
    expect(models.map((m) => m.id)).toEqual(['groq:llama-3.3-70b-versatile', 'ollama:llama3.2', 'replay:weather']);
    expect(JSON.stringify(models)).not.toContain('GROQ_API_KEY');
  }, 180_000);

  it('a task resource (resource: task) runs on its own through the tool pool, its outputs applied', async () => {
    const project = copyFixture('compat/tasks-resources');
    const dev = new DevProcess([project, '--port', '0'], { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' });
    started.push(dev);
    const ready = await dev.waitFor('ready');
    const api = (ready.health as HealthReport).components.find((c) => c.name === 'api')?.address;
    const response = await fetch(`${api}/api/v0/tasks/normalize/executions/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ with: { text: 'direct task' } }) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Envelope).data).toMatchObject({ output: { text: 'DIRECT TASK' }, state: { status: 'SUCCESS', task_id: 'normalize', workflow_id: 'task:normalize', component: 'tool' } });
    const tasks = ((await (await fetch(`${api}/api/v0/tasks`)).json()) as Envelope).data.tasks as { id: string; workflow_id: string | null }[];
    expect(tasks.filter((t) => t.workflow_id === null).map((t) => t.id)).toEqual(expect.arrayContaining(['normalize', 'report', 'shout']));
  }, 120_000);
});
