import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { YamlFile, type ConfigDiagnostic } from '../../src/config/yaml-file.js';
import { TemplateEngine } from '../../src/expr/template.js';
import { REPO, runCli } from '../helpers/cli.js';
import { writeFiles } from '../helpers/files.js';

const WEATHER = join(REPO, 'examples', 'weather');
const ERRORS = join(REPO, 'test', 'fixtures', 'config-errors');

function problems(dir: string): ConfigDiagnostic[] {
  const { project, diagnostics } = loadProjectConfig(dir);
  return sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]);
}

describe('weather example', () => {
  it('loads into typed objects and validates with no problems', () => {
    const { project, diagnostics } = loadProjectConfig(WEATHER);
    expect(diagnostics).toEqual([]);
    expect(project && validateProject(project)).toEqual([]);
    const workflow = project?.workflows[0];
    expect(workflow?.id).toBe('weather');
    expect(workflow?.input).toMatchObject({ kind: 'id', id: 'city_input' });
    expect(workflow?.tasks.map((t) => [t.id, t.type])).toEqual([
      ['weather', 'basic'],
      ['activities', 'basic'],
      ['activity_analysis', 'collection'],
      ['clothing', 'basic'],
      ['clothing_validation', 'collection'],
      ['aggr', 'aggregate'],
      ['clothing_check', 'router'],
      ['save_results', 'composite'],
      ['no_results', 'basic'],
    ]);
    expect(workflow?.tasks[2]?.task?.id).toBe('analyze-activity-{{ .index }}');
    expect(workflow?.agents[0]?.actions.map((a) => [a.id, a.jsonMode])).toEqual([
      ['get_weather', true],
      ['suggest_activities', true],
      ['suggest_clothing', true],
      ['analyze_activity', false],
      ['validate_clothing', true],
    ]);
    expect(project?.models.map((m) => `${m.provider}:${m.model}`)).toEqual(['groq:llama-3.3-70b-versatile', 'ollama:llama3.2', 'replay:weather']);
  });

  it('every template in the workflow renders to the expected typed value against a sample run', () => {
    const { project } = loadProjectConfig(WEATHER);
    const workflow = project?.workflows[0];
    const task = (id: string) => workflow?.tasks.find((t) => t.id === id);
    const engine = new TemplateEngine();
    const context = {
      workflow: { id: 'weather', input: { city: 'Lisbon' } },
      tasks: {
        weather: { output: { weather: 'Sunny', temperature: 24, humidity: 55 } },
        activities: { output: { activities: ['surf', 'museum'] } },
        activity_analysis: {
          output: { output: { analyzed_count: '2' } },
          children: { 'analyze-activity-0': { id: 'analyze-activity-0', status: 'SUCCESS', output: { response: 'great' } } },
        },
        clothing: { output: { save_data: { clothing: ['hat', 'shorts'] } } },
        aggr: { output: { weather: { weather: 'Sunny' } } },
      },
    };
    expect(engine.renderValue(task('weather')?.with, context)).toEqual({ city: 'Lisbon' });
    const weatherOutputs = engine.renderValue(task('weather')?.outputs, { ...context, output: { weather: 'Sunny', temperature: 24, humidity: 55 } }) as Record<string, unknown>;
    expect(weatherOutputs).toMatchObject({ temperature: 24, humidity: 55, weather: 'Sunny' });
    expect(weatherOutputs.timestamp).toMatch(/ \+0000 UTC$/);
    expect(engine.renderValue(task('activities')?.with, context)).toEqual({ weather: { weather: 'Sunny', temperature: 24, humidity: 55 } });
    expect(engine.renderValue(task('activity_analysis')?.items, context)).toEqual(['surf', 'museum']);
    expect(engine.renderValue(task('activity_analysis')?.task?.id, { ...context, index: 1 })).toBe('analyze-activity-1');
    expect(engine.renderValue(task('activity_analysis')?.task?.with, { ...context, item: 'surf', index: 0 })).toEqual({ activity: 'surf' });
    const collectionOutput = { 'analyze-activity-0': { response: 'a' }, 'analyze-activity-1': { response: 'b' } };
    expect(engine.renderValue(task('activity_analysis')?.outputs, { ...context, output: collectionOutput })).toEqual({ detailed_recommendations: collectionOutput, analyzed_count: '2' });
    expect(engine.renderValue(task('clothing')?.outputs, { ...context, output: { clothing: ['hat'] } })).toEqual({ save_data: { clothing: ['hat'] } });
    expect(engine.renderValue(task('aggr')?.outputs, context)).toMatchObject({ activities: ['surf', 'museum'], clothing: ['hat', 'shorts'] });
    expect(engine.renderValue(task('clothing_check')?.condition, context)).toBe('has_clothes');
    expect(engine.renderValue(task('save_results')?.tasks?.[0]?.with, context)).toEqual({ payload: { weather: { weather: 'Sunny' } }, format: 'json' });
    const outputs = engine.renderValue(workflow?.outputs, { ...context, status: 'SUCCESS' }) as Record<string, unknown>;
    expect(outputs).toEqual({
      city: 'Lisbon',
      weather: { humidity: 55, temperature: 24, weather: 'Sunny' },
      analysis: { 'analyze-activity-0': { id: 'analyze-activity-0', output: { response: 'great' }, status: 'SUCCESS' } },
      first_analysis: 'map[id:analyze-activity-0 output:map[response:great] status:SUCCESS]',
      task_count: '5',
      status: 'SUCCESS',
    });
    expect(engine.renderValue(workflow?.agents[0]?.actions[0]?.prompt, { ...context, input: { city: 'Lisbon' } })).toBe('What is the weather in Lisbon?');
  });
});

const expected: Array<[file: string, line: number, key: string, message: RegExp]> = [
    ['compozy.yaml', 4, 'workflows[1].source', /Workflow file \.\/missing\.yaml does not exist/],
    ['compozy.yaml', 11, 'models[1].default', /More than one model is marked default/],
    ['workflow.yaml', 3, 'schemas[0]', /Invalid JSON Schema: \/properties\/city\/type/],
    ['workflow.yaml', 9, 'config.input', /Schema "city_inptu" does not exist/],
    ['workflow.yaml', 12, 'tools[0].timeout', /"30 seconds" is not a valid duration/],
    ['workflow.yaml', 19, 'tasks[0]', /Basic task "start" has nothing to run/],
    ['workflow.yaml', 20, 'tasks[0].type', /Unknown task type "basc"/],
    ['workflow.yaml', 22, 'tasks[0].on_success.next', /Task "analyse" does not exist/],
    ['workflow.yaml', 24, 'tasks[1].agent', /Agent "guid" does not exist/],
    ['workflow.yaml', 26, 'tasks[2].id', /Duplicate task id "analyze" \(first defined at .*workflow\.yaml:23:5\)/],
    ['workflow.yaml', 28, 'tasks[2].action', /Agent "guide" has no action "get_wether"/],
    ['workflow.yaml', 29, 'tasks[2].tool', /has both an agent and a tool/],
    ['workflow.yaml', 30, 'tasks[3]', /Wait task "waiter" has no wait_for/],
    ['workflow.yaml', 33, 'tasks[4].id', /Task "looper" is in a cycle that can never end \(looper → looper2 → looper\)/],
    ['workflow.yaml', 35, 'tasks[4].timeout', /"5x" is not a valid duration/],
    ['workflow.yaml', 45, 'tasks[6].with.city', /Template error .*unclosed action/],
    ['workflow.yaml', 51, 'tasks[7].routes.b', /Route "b" goes to task "nowhere", which does not exist/],
    ['workflow.yaml', 52, 'tasks[8]', /Signal task "sender" has no signal id/],
    ['workflow.yaml', 54, 'tasks[8].on_sucess', /Unknown task field "on_sucess"/],
  ];

describe('config errors', () => {

  it('reports every problem at once, each with file, line, key and message', () => {
    const found = problems(ERRORS);
    for (const [file, line, key, message] of expected) {
      const match = found.find((d) => d.file.endsWith(`/${file}`) && d.line === line && d.key === key && message.test(d.message));
      expect(match, `${file}:${line} ${key} ${message}\nfound:\n${found.map((d) => `${d.file}:${d.line}:${d.col} ${d.key} ${d.message}`).join('\n')}`).toBeDefined();
    }
    expect(found).toHaveLength(expected.length);
  });

  it('offers "did you mean" for near misses', () => {
    const hints = problems(ERRORS).map((d) => d.hint);
    for (const guess of ['"basic"', '"analyze"', '"guide"', '"get_weather"', '"city_input"', '"on_success"']) expect(hints).toContain(`Did you mean ${guess}?`);
  });

  it('a YAML syntax error shows the line and a caret', () => {
    const [problem] = problems(join(REPO, 'test', 'fixtures', 'config-syntax'));
    expect(problem?.file).toMatch(/config-syntax\/workflow\.yaml$/);
    expect(problem?.line).toBe(5);
    expect(problem?.message).toContain('\n    - id: b\n    ^');
  });
});

describe('compozy config', () => {
  it('validate exits 0 on the weather example and 2 listing every problem on a broken project', async () => {
    const ok = await runCli(['config', 'validate', 'weather']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('✔ weather: 1 workflow, 9 top-level tasks');
    const bad = await runCli(['config', 'validate', ERRORS, '--json']);
    expect(bad.code).toBe(2);
    const report = JSON.parse(bad.stdout) as { valid: boolean; diagnostics: ConfigDiagnostic[] };
    expect(report.valid).toBe(false);
    // The CLI also loads the tool runtime: this project declares a tool but has no entrypoint.
    expect(report.diagnostics).toHaveLength(expected.length + 1);
    expect(report.diagnostics.find((d) => d.key === 'runtime.entrypoint')?.message).toMatch(/entrypoint\.ts does not exist, and the project declares a tool \(weather_tool\)/);
    const human = await runCli(['config', 'validate', ERRORS]);
    expect(human.code).toBe(2);
    expect(human.stdout).toMatch(/workflow\.yaml:20:5: tasks\[0\]\.type: Unknown task type "basc"\.\n {4}→ Did you mean "basic"\?/);
    expect(human.stdout).toContain('20 problems');
  });

  it('show prints each effective value with its source, secrets redacted', async () => {
    const result = await runCli(['config', 'show', 'weather', '--json'], { REDIS_URL: 'redis://:hunter2@127.0.0.1:6379', SERVER_PORT: '6001' });
    expect(result.code).toBe(0);
    const shown = JSON.parse(result.stdout) as { settings: Record<string, { value: unknown; source: string; origin: string }> };
    expect(shown.settings.serverPort).toEqual({ value: 6001, source: 'env', origin: 'SERVER_PORT' });
    expect(shown.settings.mode).toEqual({ value: 'persistent', source: 'default', origin: 'default' });
    expect(shown.settings.redisUrl?.value).toBe('redis://:***@127.0.0.1:6379');
    expect(result.stdout).not.toContain('hunter2');
  });
});

describe('YAML that cannot be read', () => {
  it('an alias bomb is a CONFIG_INVALID diagnostic naming the file (exit 2), not a crash', async () => {
    const dir = join(REPO, 'test', 'fixtures', 'config-yaml-bomb');
    const [problem, ...rest] = problems(dir);
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: join(dir, 'compozy.yaml'), line: 4, col: 14, message: expect.stringContaining('YAML alias bomb') });
    expect(() => loadValidProject(dir)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('compozy.yaml:4:14') }));
    const cli = await runCli(['config', 'validate', dir]);
    expect(cli.code).toBe(2);
    expect(cli.stdout).toContain('compozy.yaml:4:14: The file\'s aliases (*name) expand to more nodes than compozy reads');
  });

  it('an unclosed quote points at the line and column where the quote opens', () => {
    const dir = join(REPO, 'test', 'fixtures', 'config-unclosed-quote');
    const [problem, ...rest] = problems(dir);
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: join(dir, 'workflow.yaml'), line: 6, col: 13, message: expect.stringContaining('double-quoted string that opens here is never closed') });
    expect(problem?.message).toContain('\n      prompt: "Say hello to {{ .workflow.input.name }}\n              ^');
  });

  it('a quote left open to the end of the file is reported where it opens, not at the end', () => {
    const file = new YamlFile('inline.yaml', "id: x\ndescription: 'hello\ntasks:\n  - id: a\n    type: basic\n");
    expect(file.syntaxErrors).toEqual([expect.objectContaining({ line: 2, col: 14, message: expect.stringContaining('single-quoted string that opens here is never closed') })]);
  });
});

describe('YAML diagnostics stay readable', () => {
  it('a structure nested too deeply to parse is a diagnostic, and a very long line is shown as a window around the caret', () => {
    const depth = 20_000;
    const file = new YamlFile('deep.yaml', `name: deep\ndescription: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
    const [problem, ...rest] = file.syntaxErrors;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ line: 2, message: expect.stringMatching(/^The YAML is nested too deeply for compozy to read\n {2}…\[+…\n {2} *\^$/), hint: 'Flatten the structure.' });
    const [, shown = '', caret = ''] = problem?.message.split('\n') ?? [];
    expect(shown.length).toBeLessThan(170);
    expect(shown[caret.indexOf('^')]).toBe('[');
  });
});

describe('config validate checks the settings dev and serve read', () => {
  it('a bad value in compozy.yaml is an error at its key (exit 2); one from the environment is a warning naming the variable', async () => {
    const dir = writeFiles({ 'compozy.yaml': 'name: limits\nversion: "0.1.0"\nlimits:\n  max_active_executions: -3\n' });
    const bad = await runCli(['config', 'validate', dir, '--json']);
    expect(bad.code).toBe(2);
    const report = JSON.parse(bad.stdout) as { diagnostics: ConfigDiagnostic[] };
    expect(report.diagnostics.map((d) => `${d.line}:${d.col} ${d.key}: ${d.message}`)).toEqual([
      '4:3 limits.max_active_executions: limits.max_active_executions in compozy.yaml must be a whole number ≥ 0, got -3.',
    ]);

    const fine = writeFiles({ 'compozy.yaml': 'name: limits\nversion: "0.1.0"\n' });
    const fromEnv = await runCli(['config', 'validate', fine, '--json'], { LIMITS_MAX_ACTIVE_EXECUTIONS: 'abc' });
    expect(fromEnv.code).toBe(0);
    const warned = JSON.parse(fromEnv.stdout) as { valid: boolean; warnings: ConfigDiagnostic[] };
    expect(warned.valid).toBe(true);
    expect(warned.warnings.map((d) => `${d.key}: ${d.message}`)).toEqual(['LIMITS_MAX_ACTIVE_EXECUTIONS: LIMITS_MAX_ACTIVE_EXECUTIONS must be a whole number ≥ 0, got "abc".']);
  });
});
