import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ProjectWatch } from '../../src/config/project-watch.js';

const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A project folder and a watch over it that records each batch of changed files (relative paths). */
function watched(setup: (dir: string) => void, outside: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'compozy-watch-'));
  setup(dir);
  const batches: string[][] = [];
  const errors: string[] = [];
  const watch = new ProjectWatch({ dir, files: outside, onChange: (files) => batches.push(files.map((f) => (f.startsWith(`${dir}/`) ? f.slice(dir.length + 1) : f))), onError: (m) => errors.push(m) });
  cleanups.push(() => {
    watch.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const next = async (count = batches.length + 1): Promise<string[]> => {
    for (let i = 0; i < 200 && batches.length < count; i++) await sleep(25);
    if (batches.length < count) throw new Error(`no change batch #${count}; batches: ${JSON.stringify(batches)}`);
    return batches[count - 1] as string[];
  };
  return { dir, watch, batches, errors, next };
}

describe('ProjectWatch', () => {
  it('takes several quick writes of a file as one change', async () => {
    const { dir, next } = watched((d) => writeFileSync(join(d, 'compozy.yaml'), 'name: a\n'));
    writeFileSync(join(dir, 'compozy.yaml'), 'name: b\n');
    writeFileSync(join(dir, 'compozy.yaml'), 'name: c\n');
    writeFileSync(join(dir, 'compozy.yaml'), 'name: d\n');
    expect(await next()).toEqual(['compozy.yaml']);
  });

  it('leaves out files whose content did not change, state and dependency folders, and files it does not reload for', async () => {
    const { dir, next } = watched((d) => {
      writeFileSync(join(d, 'compozy.yaml'), 'name: a\n');
      mkdirSync(join(d, 'node_modules', 'dep'), { recursive: true });
      mkdirSync(join(d, '.compozy'));
      mkdirSync(join(d, 'tools'));
      writeFileSync(join(d, 'tools', 'echo.ts'), 'export const one = 1;\n');
    });
    writeFileSync(join(dir, 'compozy.yaml'), 'name: a\n');
    writeFileSync(join(dir, 'node_modules', 'dep', 'index.js'), 'x');
    writeFileSync(join(dir, '.compozy', 'kv.yaml'), 'x');
    writeFileSync(join(dir, 'results.json'), '{}');
    writeFileSync(join(dir, '.hello.yaml.swp'), 'x');
    writeFileSync(join(dir, 'tools', 'echo.ts'), 'export const one = 2;\n');
    expect(await next()).toEqual(['tools/echo.ts']);
  });

  it('reports removed files, and the files of a folder that appears after the start', async () => {
    const { dir, next } = watched((d) => {
      writeFileSync(join(d, 'compozy.yaml'), 'name: a\n');
      writeFileSync(join(d, 'old.yaml'), 'id: old\n');
    });
    rmSync(join(dir, 'old.yaml'));
    expect(await next()).toEqual(['old.yaml']);
    mkdirSync(join(dir, 'agents'));
    writeFileSync(join(dir, 'agents', 'helper.yaml'), 'resource: agent\n');
    expect(await next()).toEqual(['agents/helper.yaml']);
    writeFileSync(join(dir, 'agents', 'helper.yaml'), 'resource: agent\nid: helper\n');
    expect(await next()).toEqual(['agents/helper.yaml']);
  });

  it('watches the folder of a file the project reads from outside its own', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'compozy-watch-shared-'));
    cleanups.push(() => rmSync(shared, { recursive: true, force: true }));
    writeFileSync(join(shared, 'flow.yaml'), 'id: flow\n');
    const { next } = watched((d) => writeFileSync(join(d, 'compozy.yaml'), 'name: a\n'), [join(shared, 'flow.yaml')]);
    writeFileSync(join(shared, 'flow.yaml'), 'id: flow\ntasks: []\n');
    expect(await next()).toEqual([join(shared, 'flow.yaml')]);
  });

  it('reports nothing once closed', async () => {
    const { dir, watch, batches, next } = watched((d) => writeFileSync(join(d, 'a.yaml'), '1\n'));
    writeFileSync(join(dir, 'a.yaml'), '2\n');
    await next();
    watch.close();
    writeFileSync(join(dir, 'a.yaml'), '3\n');
    // A second watch over the same folder sees the next write: by then the closed one would have too.
    const other = watched(() => undefined);
    const probe = new ProjectWatch({ dir, files: [], onChange: (files) => other.batches.push(files), onError: () => undefined });
    cleanups.push(() => probe.close());
    writeFileSync(join(dir, 'a.yaml'), '4\n');
    await other.next();
    // A batch after the probe's first: an open watch would have settled on '3' and '4' before it.
    writeFileSync(join(dir, 'a.yaml'), '5\n');
    await other.next();
    expect(batches).toHaveLength(1);
  });
});
