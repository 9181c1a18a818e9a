import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestEnvironment, type TestEnvironment } from 'compozy/testing';

// test/fixtures/compat/tasks-resources: task resources used by id (task:), by $use, from a
// workflow's resources.tasks, and inside another task resource; the tools are the fixture's own.
let env: TestEnvironment;

beforeAll(async () => {
  env = await createTestEnvironment({ project: resolve('test', 'fixtures', 'compat', 'tasks-resources'), temporal: { bin: inject('temporalBin') } });
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

describe('a workflow made of task resources', () => {
  it('runs each referenced task with the site fields over the resource', async () => {
    const run = await env.run('texts', { text: 'Hello Brave new World' });
    run
      .expectStatus('SUCCESS')
      .expectOutput({ lower: 'hello brave new world', shouted: 'HELLO BRAVE NEW WORLD!', title: 'Hello Brave New World', words: 4 })
      // normalize's with (mode: upper) under the site's (mode: lower), and its outputs: applied.
      .expectTask('first', { status: 'SUCCESS', output: { text: 'hello brave new world' } })
      .expectTask('second', { status: 'SUCCESS', output: { text: 'HELLO BRAVE NEW WORLD!', mode: 'upper' } })
      .expectTask('summary', { status: 'SUCCESS' })
      .expectTask('report_text', { output: { text: 'Hello Brave New World' } });
    expect(run.task('first').output).toEqual({ text: 'hello brave new world' });
    expect(run.task('report_count').output).toEqual({ words: 4 });
  }, 60_000);

  it("runs a task resource as a collection's per-item task, with the id the site gives it", async () => {
    const run = await env.run('per_item', { words: ['sun', 'sea'] });
    run.expectStatus('SUCCESS').expectOutput({ count: '2' }).expectTask('tag-0', { output: { text: 'SUN' } }).expectTask('tag-1', { output: { text: 'SEA' } });
  }, 60_000);
});
