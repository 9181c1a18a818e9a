import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadValidProject } from '../../src/config/valid-project.js';
import { overallState, type HealthReport } from '../../src/health.js';
import { curlFor, firstWorkflow, startLines } from '../../src/supervisor/first-lines.js';
import { renderHealthTable } from '../../src/supervisor/health-table.js';
import { REPO } from '../helpers/cli.js';

const report: HealthReport = {
  mode: 'standalone',
  project: 'weather',
  status: 'degraded',
  components: [
    { name: 'temporal', backend: 'embedded dev server (CLI 1.5.1)', state: 'up', address: '127.0.0.1:7233', pid: 101, restarts: 0, detail: 'namespace default' },
    { name: 'api', backend: 'fastify', state: 'up', address: 'http://127.0.0.1:5001', pid: 202, restarts: 2, lastExitCode: 137 },
    { name: 'worker', backend: 'in-process', state: 'degraded', pid: 202, restarts: 2, detail: 'task queue compozy' },
    { name: 'kv', backend: 'sqlite', state: 'up', path: '/p/.compozy/kv.db', detail: '0 keys' },
  ],
};

const ANSI = /\u001b\[[0-9;]*m/;

describe('health table', () => {
  it('plain output has no escape codes and aligned columns', () => {
    const text = renderHealthTable(report, { color: false });
    expect(text).not.toMatch(ANSI);
    const lines = text.split('\n');
    expect(lines[0]).toBe('weather · mode standalone · degraded');
    expect(lines[1]).toMatch(/^COMPONENT\s+BACKEND\s+STATE\s+ADDRESS \/ FILE\s+PID\s+RESTARTS\s+DETAIL$/);
    const stateColumn = (lines[1] as string).indexOf('STATE');
    for (const line of lines.slice(2)) expect(line.slice(stateColumn).split(' ')[0]).toMatch(/^(up|degraded)$/);
    expect(text).toContain('2 (last exit 137)');
    expect(text).toContain('/p/.compozy/kv.db');
  });

  it('TTY output colours the states', () => {
    const text = renderHealthTable(report, { color: true });
    expect(text).toMatch(ANSI);
    expect(text.replace(new RegExp(ANSI.source, 'g'), '')).toBe(renderHealthTable(report, { color: false }));
  });

  it('overall state is the worst component state', () => {
    expect(overallState(report.components)).toBe('degraded');
    expect(overallState([{ name: 'a', backend: 'x', state: 'up' }])).toBe('up');
    expect(overallState([{ name: 'a', backend: 'x', state: 'starting' }, { name: 'b', backend: 'x', state: 'down' }])).toBe('down');
  });
});

describe('the lines after the health table', () => {
  it('API URL, a curl for the first workflow, the log folder and how to stop, in that order; no dashboard line without a dashboard', () => {
    const lines = startLines({ apiUrl: 'http://127.0.0.1:5003', workflow: { id: 'weather', input: { city: '<city>' } }, logDir: '/p/.compozy/logs' });
    expect(lines).toEqual([
      '  API        http://127.0.0.1:5003',
      `  Try it     curl -s -X POST http://127.0.0.1:5003/api/v0/workflows/weather/executions -H 'content-type: application/json' -d '{"input":{"city":"<city>"}}'`,
      '  Logs       /p/.compozy/logs',
      '',
      '  Ctrl-C to stop',
    ]);
  });

  it('quotes the input for the shell, so a value with a quote survives copy-paste', () => {
    expect(curlFor('http://h:1', { id: 'w', input: { q: "it's" } })).toBe(`curl -s -X POST http://h:1/api/v0/workflows/w/executions -H 'content-type: application/json' -d '{"input":{"q":"it'\\''s"}}'`);
  });

  it("the example input fills the input schema's required properties from examples, defaults, enums or a placeholder", () => {
    const project = loadValidProject(join(REPO, 'examples', 'weather'));
    expect(firstWorkflow(project)).toEqual({ id: 'weather', input: { city: '<city>' } });
    const schema = { type: 'object', properties: { n: { type: 'integer' }, mode: { enum: ['fast', 'slow'] }, tag: { type: 'string', examples: ['demo'] }, opt: { type: 'string' } }, required: ['n', 'mode', 'tag'] };
    const withInline = { ...project, workflows: [{ ...(project.workflows[0] as (typeof project.workflows)[number]), input: { kind: 'inline' as const, schema, at: (project.workflows[0] as (typeof project.workflows)[number]).input?.at as never } }] };
    expect(firstWorkflow(withInline)?.input).toEqual({ n: 0, mode: 'fast', tag: 'demo' });
  });
});
