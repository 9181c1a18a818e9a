import { Worker } from '@temporalio/worker';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadValidProject } from '../../src/config/valid-project.js';
import { compileProject } from '../../src/engine/project.js';
import { REPO } from '../helpers/cli.js';
import { startHarness, WORKFLOW_BUNDLE, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness(inject('temporalBin'), 'weather-test');
  const script: Record<string, (input: Record<string, unknown>) => Record<string, unknown>> = {
    get_weather: (input) => ({ weather: `Sunny in ${String(input.city)}`, temperature: 24, humidity: 40 }),
    suggest_activities: () => ({ activities: ['surfing', 'museum', 'hiking'] }),
    analyze_activity: (input) => ({ response: `${String(input.activity)} suits the weather` }),
    suggest_clothing: () => ({ clothing: ['hat', 'sunscreen'] }),
    validate_clothing: (input) => ({ item: input.clothing, ok: true }),
  };
  for (const [action, fn] of Object.entries(script)) h.agents.set(`tourist_guide/${action}`, (request) => fn(request.input));
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('the weather workflow with scripted agents', () => {
  it('with no clothing suggested, the empty collection succeeds and the router takes no_results', async () => {
    const project = compileProject(loadValidProject(join(REPO, 'examples', 'weather')), 20);
    const scripted = h.agents.get('tourist_guide/suggest_clothing');
    h.agents.set('tourist_guide/suggest_clothing', () => ({ clothing: [] }));
    try {
      const execution = await h.run(project, 'weather', { city: 'Oslo' });
      expect(execution.tasks.clothing_validation).toMatchObject({ status: 'SUCCESS', output: { outputs: {}, collection_metadata: { item_count: 0, skipped_count: 0 } } });
      expect(execution.tasks.clothing_check?.output).toMatchObject({ route_taken: 'no_results' });
      expect(execution.tasks.no_results?.output).toEqual({ success: true, format: 'txt', filename: 'results.txt' });
      expect(execution.tasks.save_results).toBeUndefined();
      expect(execution.status).toBe('SUCCESS');
    } finally {
      if (scripted) h.agents.set('tourist_guide/suggest_clothing', scripted);
    }
  });

  it('runs the whole graph (basic → collection → aggregate → router → composite) to SUCCESS, and its history replays cleanly', async () => {
    const project = compileProject(loadValidProject(join(REPO, 'examples', 'weather')), 20);
    const execution = await h.run(project, 'weather', { city: 'Lisbon' });
    expect(execution.error).toBeNull();
    expect(execution.status).toBe('SUCCESS');

    const analysis = execution.tasks.activity_analysis;
    expect(analysis?.executionType).toBe('collection');
    expect(analysis?.output).toEqual({
      detailed_recommendations: {
        'analyze-activity-0': { response: 'surfing suits the weather' },
        'analyze-activity-1': { response: 'museum suits the weather' },
        'analyze-activity-2': { response: 'hiking suits the weather' },
      },
      analyzed_count: '3',
    });
    expect(execution.tasks['analyze-activity-1']).toMatchObject({ parentStateId: analysis?.taskExecId, agentId: 'tourist_guide', actionId: 'analyze_activity', input: { activity: 'museum' } });
    expect(execution.tasks.clothing_check?.output).toEqual({ condition: expect.any(String), route_taken: 'save_results', router_type: 'conditional' });
    expect(execution.tasks.no_results).toBeUndefined();
    expect(execution.tasks.save_json).toMatchObject({ status: 'SUCCESS', input: { format: 'json', payload: { clothing: ['hat', 'sunscreen'], activities: ['surfing', 'museum', 'hiking'] } } });
    expect(execution.tasks.save_txt?.output).toEqual({ success: true, format: 'txt', filename: 'results.txt' });
    expect(execution.tasks.weather?.output).toMatchObject({ weather: 'Sunny in Lisbon', temperature: 24, humidity: 40, timestamp: expect.any(String) });

    const output = execution.output as Record<string, unknown>;
    expect(output.city).toBe('Lisbon');
    expect(output.weather).toMatchObject({ weather: 'Sunny in Lisbon', temperature: 24 });
    expect(Object.keys(output.analysis as object).sort()).toEqual(['analyze-activity-0', 'analyze-activity-1', 'analyze-activity-2']);
    expect((output.analysis as Record<string, { status: string; output: unknown }>)['analyze-activity-2']).toMatchObject({ status: 'SUCCESS', output: { response: 'hiking suits the weather' } });
    expect(output.task_count).toBe(String(Object.keys(execution.tasks).length));
    expect(output.status).toBe('SUCCESS');

    const history = await h.client.workflow.getHandle(execution.workflowExecId).fetchHistory();
    await expect(Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, history, execution.workflowExecId)).resolves.toBeUndefined();
  });
});
