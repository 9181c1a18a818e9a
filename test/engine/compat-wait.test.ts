import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { validateProject } from '../../src/config/validate.js';
import { compileProject } from '../../src/engine/project.js';
import { writeFiles } from '../helpers/files.js';
import { startHarness, type Harness } from './harness.js';

// test/fixtures/compat/tasks-wait: a wait task with no timeout (optional in the Go engine) and a typed processor.
let h: Harness;

beforeAll(async () => {
  h = await startHarness(inject('temporalBin'), 'compat-wait-test');
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await probe()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a wait task with no timeout', () => {
  it('validates, waits past signals that do not meet its condition, and continues on one that does', async () => {
    const project = compileProject(loadValidProject(resolve('test', 'fixtures', 'compat', 'tasks-wait')), 20);
    const engine = h.engine(project);
    const { execId } = await engine.start('approval', {});
    await until(async () => (await h.store.getWorkflowExecution(execId))?.status === 'PAUSED', 'PAUSED');
    await engine.signal(execId, 'approve', { status: 'pending', by: 'nobody' });
    await until(async () => h.tools.calls.some((c) => c.tool === 'echo' && c.input.status === 'pending'), 'the processor on the first signal');
    expect((await h.store.getWorkflowExecution(execId))?.status).toBe('PAUSED');
    await engine.signal(execId, 'approve', { status: 'ok', by: 'ana' });
    const execution = await h.finish(execId);
    expect(execution.status).toBe('SUCCESS');
    expect(execution.tasks.wait_approval).toMatchObject({ status: 'SUCCESS', output: { wait_status: 'completed', processor_output: { output: { status: 'ok' } } } });
    expect(execution.tasks.approved?.output).toEqual({ by: 'ana' });
  }, 60_000);
});

describe('wait task validation as the Go engine does it', () => {
  const project = (wait: string) =>
    writeFiles({
      'compozy.yaml': 'name: w\nworkflows:\n  - source: ./w.yaml\n',
      'w.yaml': `id: w\ntools:\n  - id: echo\ntasks:\n  - id: hold\n    type: wait\n    wait_for: go\n    condition: "true"\n${wait}`,
    });
  const diagnostics = (dir: string) => {
    const { project: loaded, diagnostics: found } = loadProjectConfig(dir);
    return [...found, ...(loaded ? validateProject(loaded) : [])].map((d) => `${d.line}:${d.col}: ${d.key}: ${d.message}`);
  };

  it('a processor without a type is refused at its line and column', () => {
    expect(diagnostics(project('    processor:\n      id: p\n      tool: echo\n'))).toContain('9:5: tasks[0].processor: The processor of wait task "hold" has no type.');
  });

  it('a processor without an id is refused', () => {
    expect(diagnostics(project('    processor:\n      type: basic\n      tool: echo\n')).join('\n')).toMatch(/tasks\[0\]\.processor.*id/);
  });

  it('a timeout, when given, must be a positive duration; none at all is valid', () => {
    expect(diagnostics(project(''))).toEqual([]);
    expect(diagnostics(project('    timeout: 0s\n')).join('\n')).toContain('tasks[0].timeout: "0s" is not a valid duration.');
  });
});
