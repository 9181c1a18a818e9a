import { AssertionError } from 'node:assert';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestEnvironment, type TestEnvironment } from 'compozy/testing';

// Written only against the package's public entry points, resolved through its `exports` (the
// package imports itself by name), as a user's test would be.
const WEATHER = resolve('examples', 'weather');

let project: string;
let env: TestEnvironment;

beforeAll(async () => {
  // A copy: its save_data tool writes results.json next to the project.
  project = mkdtempSync(join(tmpdir(), 'compozy-api-weather-'));
  cpSync(WEATHER, project, { recursive: true, filter: (path) => !path.includes('.compozy') });
  env = await createTestEnvironment({ project, models: { replay: 'weather' }, temporal: { bin: inject('temporalBin') } });
}, 60_000);

afterAll(async () => {
  await env?.teardown();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('compozy/testing on the weather example', () => {
  it('runs the workflow on the replay answers and the real tools, and asserts its outputs and task states', async () => {
    const run = await env.run('weather', { city: 'Lisbon' });
    run
      .expectStatus('SUCCESS')
      .expectOutput({ city: 'Lisbon', weather: { weather: 'Clear sky', temperature: 21, humidity: 55 }, status: 'SUCCESS' })
      .expectTask('activities', { status: 'SUCCESS', output: { activities: ['Walking tour of the old town', 'Sunset at a viewpoint', 'Riverside cycling'] } })
      .expectTask('clothing_check', { output: { route_taken: 'save_results' } })
      .expectTask('save_json', { status: 'SUCCESS', output: { success: true, format: 'json', filename: 'results.json' } });
    expect(run.task('analyze-activity-1').output).toEqual({ response: 'Sunset at a viewpoint: a good fit for clear skies at 21 °C; bring water and go early or late in the day.' });
    expect(run.tasks.no_results).toBeUndefined();
    expect(JSON.parse(readFileSync(join(project, 'results.json'), 'utf8'))).toMatchObject({ clothing: ['Light breathable shirt', 'Comfortable walking shoes', 'Sunglasses'] });
    expect(env.events).toContainEqual(expect.objectContaining({ event: 'execution-finished', execId: run.execId, status: 'SUCCESS' }));
  }, 60_000);

  it("a run's own answers replace the environment's: no clothing takes the no_results route", async () => {
    const fixtures = [
      { agent: 'tourist_guide', action: 'get_weather', output: { weather: 'Snow', temperature: -3, humidity: 90 } },
      { agent: 'tourist_guide', action: 'suggest_activities', output: { activities: ['Skiing'] } },
      { agent: 'tourist_guide', action: 'analyze_activity', text: 'Wrap up.' },
      { agent: 'tourist_guide', action: 'suggest_clothing', output: { clothing: [] } },
    ];
    const run = await env.run('weather', { city: 'Oslo' }, { answers: fixtures });
    run.expectStatus('SUCCESS').expectOutput({ weather: { weather: 'Snow', temperature: -3 } }).expectTask('clothing_check', { output: { route_taken: 'no_results' } });
    expect(run.task('analyze-activity-0').output).toEqual({ response: 'Wrap up.' });
    expect(run.tasks.save_results).toBeUndefined();
  }, 60_000);

  it('a failed expectation throws an AssertionError naming the path, the value and the expected one', async () => {
    const run = await env.run('weather', { city: 'Porto' });
    expect(() => run.expectOutput({ city: 'Lisbon' })).toThrow(AssertionError);
    expect(() => run.expectOutput({ city: 'Lisbon' })).toThrow('output of weather: city is "Porto", expected "Lisbon"');
    expect(() => run.expectStatus('FAILED')).toThrow(`Execution ${run.execId} of weather is SUCCESS, expected FAILED.`);
    expect(() => run.task('nope')).toThrow('Task "nope" did not run');
  }, 60_000);

  it('an answer that does not match the action output schema fails the task as the model would', async () => {
    const run = await env.run('weather', { city: 'Faro' }, { answers: () => ({ unexpected: true }) });
    run.expectStatus('FAILED').expectTask('weather', { status: 'FAILED' });
    expect(run.task('weather').error?.code).toBe('LLM_OUTPUT_INVALID');
  }, 60_000);
});

describe('compozy/testing on a project given as data', () => {
  it('runs it with scripted tools and a model function, and removes its files on teardown', async () => {
    const inline = await createTestEnvironment({
      project: {
        config: { name: 'inline', workflows: [{ source: './greet.yaml' }] },
        files: {
          'greet.yaml': {
            id: 'greet',
            tools: [{ id: 'lookup' }],
            agents: [{ id: 'writer', model: 'openai:gpt-4o', actions: [{ id: 'greet', prompt: 'Greet {{ .input.name }}', output: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } }] }],
            tasks: [
              { id: 'find', type: 'basic', tool: 'lookup', with: { name: '{{ .workflow.input.name }}' }, on_success: { next: 'say' } },
              { id: 'say', type: 'basic', agent: 'writer', action: 'greet', with: { name: '{{ .tasks.find.output.full_name }}' } },
            ],
            outputs: { greeting: '{{ .tasks.say.output.text }}' },
          },
        },
      },
      tools: { lookup: (input) => ({ full_name: `${String(input.name)} Pessoa` }) },
      models: { answers: (call) => ({ text: `Olá, ${String(call.input.name)}` }) },
      temporal: { bin: inject('temporalBin') },
    });
    const dir = inline.projectDir;
    try {
      const run = await inline.run('greet', { name: 'Fernando' });
      run.expectStatus('SUCCESS').expectOutput({ greeting: 'Olá, Fernando Pessoa' }).expectTask('find', { output: { full_name: 'Fernando Pessoa' } });
      await expect(inline.runTool('lookup', { name: 'Ada' })).resolves.toEqual({ full_name: 'Ada Pessoa' });
    } finally {
      await inline.teardown();
    }
    expect(existsSync(dir)).toBe(false);
  }, 60_000);

  it('a project that does not validate is refused with its file:line:col diagnostics', async () => {
    const error = await createTestEnvironment({
      project: { config: { name: 'broken', workflows: [{ source: './w.yaml' }] }, files: { 'w.yaml': 'id: w\ntasks:\n  - id: a\n    type: basik\n' } },
      temporal: { bin: inject('temporalBin') },
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'CompozyError', code: 'CONFIG_INVALID' });
    expect((error as Error).message).toContain('w.yaml:4:5: tasks[0].type: Unknown task type "basik".');
  });
});
