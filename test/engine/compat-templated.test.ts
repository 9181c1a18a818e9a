import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestEnvironment, type TestEnvironment } from 'compozy/testing';
import { loadProjectConfig } from '../../src/config/load.js';
import { validateProject } from '../../src/config/validate.js';
import { writeFiles } from '../helpers/files.js';

// test/fixtures/compat/tasks-templated: `tool:` and `action:` are templates over the workflow input.
let env: TestEnvironment;

beforeAll(async () => {
  env = await createTestEnvironment({
    project: resolve('test', 'fixtures', 'compat', 'tasks-templated'),
    models: { answers: (call) => `${call.agent}/${call.action}: ${String(call.input.order)}` },
    temporal: { bin: inject('temporalBin') },
  });
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

describe('templated tool and action ids', () => {
  it('run the tool and the action the input names', async () => {
    const run = await env.run('dispatch', { kind: 'refund', tool: 'to_upper' });
    run.expectStatus('SUCCESS').expectOutput({ text: 'ORDER 42', reply: 'support/refund: ORDER 42' });
    const other = await env.run('dispatch', { kind: 'complaint', tool: 'to_lower' });
    other.expectStatus('SUCCESS').expectOutput({ text: 'order 42', reply: 'support/complaint: order 42' });
  }, 60_000);

  it('the task states record the ids the templates rendered to, not the templates', async () => {
    const run = await env.run('dispatch', { kind: 'complaint', tool: 'to_lower' });
    run.expectStatus('SUCCESS');
    expect(run.task('format')).toMatchObject({ toolId: 'to_lower', agentId: null, actionId: null });
    expect(run.task('handle')).toMatchObject({ agentId: 'support', actionId: 'complaint', toolId: null });
    const failed = await env.run('dispatch', { kind: 'praise', tool: 'to_upper' });
    expect(failed.task('handle')).toMatchObject({ status: 'FAILED', actionId: 'praise' });
  }, 60_000);

  it('a tool id that renders to an undeclared tool fails the task with a typed error naming the task, the template and the id', async () => {
    const run = await env.run('dispatch', { kind: 'refund', tool: 'to_title' });
    run.expectStatus('FAILED').expectTask('format', { status: 'FAILED' });
    expect(run.task('format').error).toMatchObject({ code: 'TOOL_NOT_FOUND' });
    expect(run.task('format').error?.message).toContain('Task "format": its tool "{{ .workflow.input.tool }}" renders to "to_title", which is not declared');
  }, 60_000);

  it('an action id that renders to an action the agent does not have fails the task the same way', async () => {
    const run = await env.run('dispatch', { kind: 'praise', tool: 'to_upper' });
    run.expectStatus('FAILED').expectTask('handle', { status: 'FAILED' });
    expect(run.task('handle').error).toMatchObject({ code: 'AGENT_NOT_FOUND' });
    expect(run.task('handle').error?.message).toContain('Task "handle": its action "{{ .workflow.input.kind }}" renders to "praise", which is not declared');
  }, 60_000);
});

describe('templated ids at load time', () => {
  const problems = (task: string) => {
    const dir = writeFiles({
      'compozy.yaml': 'name: p\nmodels:\n  - provider: openai\n    model: gpt-4o-mini\n    default: true\nworkflows:\n  - source: ./w.yaml\n',
      'w.yaml': `id: w\ntools:\n  - id: echo\nagents:\n  - id: support\n    instructions: Help.\n    actions:\n      - id: refund\n        prompt: Refund.\ntasks:\n${task}`,
    });
    const { project, diagnostics } = loadProjectConfig(dir);
    return [...diagnostics, ...(project ? validateProject(project) : [])].map((d) => `${d.line}:${d.col}: ${d.key}: ${d.message}`);
  };

  it('are not looked up among the declared ids, but their template syntax is checked at file:line:col', () => {
    expect(problems('  - id: a\n    tool: "{{ .workflow.input.tool }}"\n  - id: b\n    agent: "{{ .workflow.input.agent }}"\n    action: "{{ .workflow.input.kind }}"\n')).toEqual([]);
    expect(problems('  - id: a\n    tool: "{{ .workflow.input.tool "\n')).toEqual([expect.stringMatching(/^12:5: tasks\[0\]\.tool: Template error/)]);
    expect(problems('  - id: b\n    agent: support\n    action: "{{ if .workflow.input.kind }}"\n')).toEqual([expect.stringMatching(/^13:5: tasks\[0\]\.action: Template error/)]);
  });

  it('a plain id that does not exist is still refused', () => {
    expect(problems('  - id: b\n    agent: support\n    action: praise\n')).toContain('13:5: tasks[0].action: Agent "support" has no action "praise".');
  });
});
