import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestEnvironment, type TestEnvironment } from 'compozy/testing';

// test/fixtures/compat/bun-tools: runtime.type: bun, tools that use Bun.write and Bun.file, run in a platform.
let env: TestEnvironment;
const log: string[] = [];

beforeAll(async () => {
  env = await createTestEnvironment({ project: resolve('test', 'fixtures', 'compat', 'bun-tools'), temporal: { bin: inject('temporalBin') }, log: (line) => log.push(line) });
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

describe('a project whose tools run under Bun', () => {
  it('a workflow saves with Bun.write and reads back with Bun.file, both calls on the one warm Bun process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'compozy-bun-tools-'));
    const run = await env.run('save', { dir, city: 'Porto' });
    run.expectStatus('SUCCESS');
    const path = join(dir, 'results.json');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ city: 'Porto', temperature: 21 });
    run.expectOutput({ path, text: readFileSync(path, 'utf8') });
    const saved = run.task('save').output as { pid: number; bun: string };
    expect(saved.bun).toMatch(/^\d+\.\d+\.\d+/);
    expect((run.task('read').output as { pid: number }).pid).toBe(saved.pid);
    const again = await env.run('save', { dir, city: 'Faro' });
    expect((again.task('save').output as { pid: number }).pid).toBe(saved.pid);
  }, 60_000);

  it("a tool slower than its timeout: fails the task with TOOL_TIMEOUT, and the pool's next call runs", async () => {
    const run = await env.run('slow', { ms: 5000 });
    expect(run.status).not.toBe('SUCCESS');
    expect(run.task('wait').error).toMatchObject({ code: 'TOOL_TIMEOUT', message: expect.stringContaining('did not finish within 1000 ms') });
    expect(await env.runTool('slow', { ms: 1 })).toEqual({ slept: 1 });
  }, 60_000);

  it("a tool that throws fails its task with the tool's message", async () => {
    const run = await env.run('fail', { reason: 'sensor offline' });
    run.expectStatus('FAILED');
    expect(run.task('boom').error).toMatchObject({ code: 'TOOL_FAILED', message: expect.stringContaining('explode: sensor offline') });
  }, 60_000);

  it('the platform says which restrictions Bun does not enforce', () => {
    expect(log.join('\n')).toContain('[tools] runtime.permissions cannot enforce: running processes is not denied (no --allow-run): Bun has no permission model');
  });
});
