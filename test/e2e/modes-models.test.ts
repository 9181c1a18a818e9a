import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DevProcess, REPO, runCli, stopDevProcesses } from '../helpers/cli.js';
import { tempDir } from '../helpers/fake-bin.js';
import { startRecordingModel, type RecordingModel } from '../helpers/recording-model.js';

const started: DevProcess[] = [];
let fake: RecordingModel;

beforeAll(async () => {
  fake = await startRecordingModel();
});
afterAll(() => fake.close());
afterEach(() => stopDevProcesses(started));

/** A copy of the models-refs fixture, and a temporary folder of its own for the run (TMPDIR). */
function project(mode?: string): { dir: string; tmp: string; env: NodeJS.ProcessEnv } {
  const dir = join(tempDir('project'), 'models-refs');
  cpSync(join(REPO, 'test', 'fixtures', 'compat', 'models-refs'), dir, { recursive: true });
  if (mode) writeFileSync(join(dir, 'compozy.yaml'), `mode: ${mode}\n${readFileSync(join(dir, 'compozy.yaml'), 'utf8')}`);
  const tmp = tempDir('tmpdir');
  return { dir, tmp, env: { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1', LLM_URL: fake.url, TMPDIR: tmp } };
}

const memoryDirs = (tmp: string) => readdirSync(tmp).filter((name) => name.startsWith('compozy-memory-'));

describe('model resolution and memory mode, end to end', () => {
  it('compozy run in memory mode calls each task\'s model over the wire and leaves no state behind', async () => {
    const { dir, tmp, env } = project();
    fake.requests.length = 0;
    const result = await runCli(['run', 'models', dir, '--json', '--port', '0'], { ...env, COMPOZY_MODE: 'memory' });
    expect(result.code, result.stderr).toBe(0);
    const state = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { status: string };
    expect(state.status).toBe('SUCCESS');
    expect(fake.requests.map((r) => [r.model, r.temperature])).toEqual([
      ['groq-model', undefined],
      ['third-model', 0.5],
      ['default-model', undefined],
      ['third-model', 0.5],
      ['inline-model', 0.25],
    ]);
    expect(existsSync(join(dir, '.compozy'))).toBe(false);
    expect(memoryDirs(tmp)).toEqual([]);
  }, 180_000);

  it('compozy dev with mode: memory keeps its state in a temporary folder while it runs and removes it when it stops', async () => {
    const { dir, tmp, env } = project('memory');
    const dev = new DevProcess([dir, '--port', '0'], env);
    started.push(dev);
    const starting = await dev.waitFor('starting');
    expect(starting).toMatchObject({ mode: 'memory' });
    await dev.waitFor('ready', 1, 90_000);
    const during = memoryDirs(tmp);
    expect(during).toHaveLength(1);
    expect(readdirSync(join(tmp, during[0] as string))).toContain('kv.db');
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(memoryDirs(tmp)).toEqual([]);
    expect(existsSync(join(dir, '.compozy'))).toBe(false);
  }, 180_000);

  it('compozy dev -c <file> runs the project from a config file that is not compozy.yaml', async () => {
    const { dir, tmp, env } = project('memory');
    mkdirSync(join(dir, 'configs'));
    writeFileSync(join(dir, 'configs', 'dev.yaml'), readFileSync(join(dir, 'compozy.yaml'), 'utf8').replace('name: models-refs', 'name: from-config-file'));
    renameSync(join(dir, 'compozy.yaml'), join(dir, 'unused.yaml'));
    const dev = new DevProcess([dir, '-c', join(dir, 'configs', 'dev.yaml'), '--port', '0'], env);
    started.push(dev);
    const ready = (await dev.waitFor('ready', 1, 90_000)) as { health: { project: string; mode: string } };
    expect(ready.health).toMatchObject({ project: 'from-config-file', mode: 'memory' });
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(memoryDirs(tmp)).toEqual([]);
  }, 180_000);
});
