import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestEnvironment, type TestEnvironment } from 'compozy/testing';

// test/fixtures/compat/tasks-failure: a tool task fails in a workflow whose outputs: read its result.
let env: TestEnvironment;

beforeAll(async () => {
  env = await createTestEnvironment({ project: resolve('test', 'fixtures', 'compat', 'tasks-failure'), temporal: { bin: inject('temporalBin') } });
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

describe('a failing task in a workflow with outputs:', () => {
  it("the execution's error is the task's own, not the outputs that could not read its result", async () => {
    const run = await env.run('charge', { amount: 500, card: 'visa' });
    run.expectStatus('FAILED').expectTask('charge', { status: 'FAILED' });
    const taskError = run.task('charge').error;
    expect(taskError?.message).toContain('amount 500 is over the limit of 100');
    expect(run.error?.code).toBe(taskError?.code);
    expect(run.error?.code).not.toBe('OUTPUT_TRANSFORMATION_FAILED');
    expect(run.error?.message).toBe(`task failed with no error transition defined: ${taskError?.message}`);
    expect(run.tasks.receipt).toBeUndefined();
  }, 60_000);

  it('a tool that answers with an error field fails the task with that error; its outputs: are not applied', async () => {
    const run = await env.run('charge', { amount: 40, card: 'declined' });
    run.expectStatus('FAILED').expectTask('charge', { status: 'FAILED' });
    const taskError = run.task('charge').error;
    expect(taskError?.message).toContain('card declined');
    expect(taskError?.code).not.toBe('OUTPUT_TRANSFORMATION_FAILED');
    expect(run.error).toMatchObject({ code: taskError?.code, message: `task failed with no error transition defined: ${taskError?.message}` });
  }, 60_000);

  it('the same workflow succeeds with its outputs rendered when the task succeeds', async () => {
    const run = await env.run('charge', { amount: 40, card: 'visa' });
    run.expectStatus('SUCCESS').expectOutput({ charged: 40, receipt: 'charged 40' });
  }, 60_000);
});
