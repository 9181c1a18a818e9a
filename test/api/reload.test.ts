import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createCompozy, LocalCompozy } from '../../dist/api/compozy.js';
import { loadValidProject } from '../../dist/config/valid-project.js';
import { isPidAlive } from '../../src/platform/pids.js';
// The platform from dist/: its worker loads the workflow bundle the build wrote there.

// Children of the platform inherit it: after stop() none may be left.
const MARKER = randomUUID();
process.env.COMPOZY_RELOAD_TEST = MARKER;

function marked(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`COMPOZY_RELOAD_TEST=${MARKER}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const workflow = (word: string) => `id: hello\ntools:\n  - id: whoami\ntasks:\n  - id: greet\n    type: aggregate\n    outputs: { greeting: "${word}" }\n    on_success:\n      next: who\n  - id: who\n    tool: whoami\noutputs:\n  greeting: "{{ .tasks.greet.output.greeting }}"\n  pid: "{{ .tasks.who.output.pid }}"\n`;

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'compozy-reload-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'compozy.yaml'), 'name: reload\nworkflows:\n  - source: ./hello.yaml\n');
  writeFileSync(join(dir, 'hello.yaml'), workflow('hello'));
  writeFileSync(join(dir, 'entrypoint.ts'), 'export default { whoami: async () => ({ pid: process.pid }) };\n');
  return dir;
}

async function untilDead(pid: number): Promise<boolean> {
  for (let i = 0; i < 400 && isPidAlive(pid); i++) await sleep(25);
  return !isPidAlive(pid);
}

describe('LocalCompozy.reload', () => {
  it('runs new executions on the reloaded project with a new tool pool, and a stop during a reload waits for it and leaves nothing running', async () => {
    const dir = project();
    const compozy = createCompozy({ project: dir, ephemeral: true, temporal: { bin: inject('temporalBin') } });
    expect(compozy).toBeInstanceOf(LocalCompozy);
    const local = compozy as LocalCompozy;
    await local.start();
    try {
      const first = await local.runWorkflow('hello');
      expect(first.output).toMatchObject({ greeting: 'hello' });
      const oldTool = Number((first.output as { pid: string }).pid);

      writeFileSync(join(dir, 'hello.yaml'), workflow('bonjour'));
      await local.reload(loadValidProject(dir));
      const second = await local.runWorkflow('hello');
      expect(second.output).toMatchObject({ greeting: 'bonjour' });
      expect(Number((second.output as { pid: string }).pid)).not.toBe(oldTool);
      // The retired runtime closes its tool processes once its worker has stopped.
      expect(await untilDead(oldTool)).toBe(true);
      expect(local.loaded()).toEqual({ workflows: 1, agents: 0, tools: 1 });

      writeFileSync(join(dir, 'hello.yaml'), workflow('hola'));
      const reloading = local.reload(loadValidProject(dir));
      const stopping = local.stop();
      // Either the reload got in first and the stop waited for it, or the stop did and refused it.
      const outcome = await reloading.then(() => 'reloaded', (error: { code?: string }) => error.code);
      expect(['reloaded', 'NOT_RUNNING']).toContain(outcome);
      await expect(stopping).resolves.toBeUndefined();
      await expect(local.reload(loadValidProject(dir))).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    } finally {
      await local.stop();
    }
    for (let i = 0; i < 200 && marked().length > 0; i++) await sleep(25);
    expect(marked()).toEqual([]);
  }, 120_000);
});
