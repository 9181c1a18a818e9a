import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { copyExample, DevProcess, stopDevProcesses, waitUntilDead } from '../helpers/cli.js';

const started: DevProcess[] = [];

afterEach(() => stopDevProcesses(started));

function descendants(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)) children.push(child, ...descendants(child));
  } catch {
    // gone already
  }
  return children;
}

describe('compozy dev weather, offline', () => {
  it('runs the weather workflow to SUCCESS on the replay model, writes the save_data files, and leaves no process behind', async () => {
    const project = copyExample('weather');
    const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1', GROQ_API_KEY: '' };
    const dev = new DevProcess([project, '--port', '0'], env);
    started.push(dev);
    const ready = await dev.waitFor('ready');
    const health = ready.health as HealthReport;
    const api = health.components.find((c) => c.name === 'api')?.address;
    expect(health.components.find((c) => c.name === 'llm')).toMatchObject({ backend: 'replay', state: 'up' });
    const processes = [dev.pid, ...descendants(dev.pid)];

    const response = await fetch(`${api}/api/v0/workflows/weather/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { city: 'Lisbon' } }) });
    expect(response.status).toBe(202);
    const execId = ((await response.json()) as { data: { exec_id: string } }).data.exec_id;
    let state: Record<string, unknown> = {};
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      state = ((await (await fetch(`${api}/api/v0/executions/workflows/${execId}`)).json()) as { data: Record<string, unknown> }).data;
      if (['SUCCESS', 'FAILED', 'CANCELED'].includes(String(state.status))) break;
      await sleep(200);
    }
    expect(state.error).toBeNull();
    expect(state.status).toBe('SUCCESS');
    const output = state.output as Record<string, unknown>;
    expect(output).toMatchObject({ city: 'Lisbon', weather: { weather: 'Clear sky', temperature: 21, humidity: 55 }, status: 'SUCCESS' });
    expect(Object.keys(output.analysis as object).sort()).toEqual(['analyze-activity-0', 'analyze-activity-1', 'analyze-activity-2']);
    const tasks = state.tasks as Record<string, { output: unknown; usage: unknown }>;
    expect(tasks.activity_analysis?.output).toMatchObject({ analyzed_count: '3' });
    expect(tasks.weather?.usage).toEqual({ provider: 'replay', model: 'weather', input_tokens: 0, output_tokens: 0 });
    expect(state.usage).toMatchObject({ models: [{ provider: 'replay', model: 'weather', calls: 9 }] });
    expect(tasks.save_json?.output).toEqual({ success: true, format: 'json', filename: 'results.json' });

    expect(existsSync(join(project, 'results.json'))).toBe(true);
    const saved = JSON.parse(readFileSync(join(project, 'results.json'), 'utf8')) as Record<string, unknown>;
    expect(saved.clothing).toEqual(['Light breathable shirt', 'Comfortable walking shoes', 'Sunglasses']);
    expect(readFileSync(join(project, 'results.txt'), 'utf8')).toContain('- Sunglasses');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(await waitUntilDead([...processes, ...descendants(dev.pid)], 5000)).toEqual([]);
  }, 120_000);
});
