import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const slowFlow = `id: slow\ntools:\n  - id: hold\ntasks:\n  - id: held\n    tool: hold\n    retries: 0\noutputs:\n  pid: "{{ .tasks.held.output.pid }}"\n`;

/** A tool that says it started (a file), then waits until the test releases it (another file). */
const holdTool = (dir: string) =>
  `import { existsSync, writeFileSync } from 'node:fs';\nexport default {\n  whoami: async () => ({ pid: process.pid }),\n  hold: async () => {\n    writeFileSync(${JSON.stringify(join(dir, 'started'))}, String(process.pid));\n    while (!existsSync(${JSON.stringify(join(dir, 'release'))})) await new Promise((r) => setTimeout(r, 20));\n    return { pid: process.pid };\n  },\n};\n`;

describe('LocalCompozy.reload', () => {
  it('lets a tool call in flight on the previous version finish in its own process', async () => {
    const dir = project();
    const state = mkdtempSync(join(tmpdir(), 'compozy-reload-hold-'));
    dirs.push(state);
    writeFileSync(join(dir, 'compozy.yaml'), 'name: reload\nworkflows:\n  - source: ./hello.yaml\n  - source: ./slow.yaml\n');
    writeFileSync(join(dir, 'slow.yaml'), slowFlow);
    writeFileSync(join(dir, 'entrypoint.ts'), holdTool(state));
    const local = createCompozy({ project: dir, ephemeral: true, temporal: { bin: inject('temporalBin') } }) as LocalCompozy;
    await local.start();
    try {
      const { execId } = await local.startWorkflow('slow');
      for (let i = 0; i < 800 && !existsSync(join(state, 'started')); i++) await sleep(25);
      const holder = Number(readFileSync(join(state, 'started'), 'utf8'));
      writeFileSync(join(dir, 'hello.yaml'), workflow('bonjour'));
      await local.reload(loadValidProject(dir));
      // The previous runtime retires now: its worker waits for the call, its tool processes stay until then.
      expect(isPidAlive(holder)).toBe(true);
      writeFileSync(join(state, 'release'), '');
      const ended = await local.waitFor(execId);
      expect(ended).toMatchObject({ status: 'SUCCESS', output: { pid: holder } });
      expect(await untilDead(holder)).toBe(true);
      expect((await local.runWorkflow('hello')).output).toMatchObject({ greeting: 'bonjour' });
    } finally {
      await local.stop();
    }
  }, 120_000);

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
