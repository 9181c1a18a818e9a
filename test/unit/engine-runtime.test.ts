import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import type { MemoryService } from '../../src/engine/executors.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { EngineRuntime, temporalTarget, type RuntimeTools } from '../../src/server/runtime.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { REPO } from '../helpers/cli.js';
import { errorCode } from '../helpers/errors.js';
import { tempDir } from '../helpers/fake-bin.js';

const MINIMAL = join(REPO, 'test', 'fixtures', 'minimal');
// Nothing listens there: the runtime's Temporal connection is lazy, and these tests start no worker.
const settings = (document: Record<string, unknown> = { name: 'minimal' }) => loadSettings({ document }, { temporalAddress: '127.0.0.1:1' }, {});
const closers: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function dir(): string {
  const path = tempDir('runtime');
  closers.push(() => rmSync(path, { recursive: true, force: true }));
  return path;
}

function context(stateDir: string, document?: Record<string, unknown>) {
  return { project: MINIMAL, stateDir, settings: settings(document), log: () => undefined, workerAvailable: async () => false };
}

describe('EngineRuntime.open', () => {
  it('uses the KV and store it is given, and leaves them open for their owner', async () => {
    const folder = dir();
    const kv = SqliteKv.open(join(folder, 'given-kv.db'));
    const store = SqliteStore.open(join(folder, 'given-store.db'));
    closers.push(() => kv.close(), () => store.close());
    const runtime = await EngineRuntime.open(context(join(folder, 'state')), { kv, store });
    expect(runtime.kv).toBe(kv);
    // The runtime records state writes into the execution streams on top of the store it is given.
    expect((await runtime.store.info()).location).toBe(join(folder, 'given-store.db'));
    const rows = await runtime.backendHealth();
    expect(rows.find((row) => row.name === 'kv')).toMatchObject({ state: 'up', path: join(folder, 'given-kv.db') });
    expect(rows.find((row) => row.name === 'store')).toMatchObject({ state: 'up', path: join(folder, 'given-store.db') });
    await runtime.close();
    await kv.set('still', 'open');
    expect(await kv.get('still')).toBe('open');
    expect((await store.info()).executions).toBe(0);
  });

  it('opens the configured backends when none is given, and closes them', async () => {
    const folder = dir();
    const runtime = await EngineRuntime.open(context(folder));
    expect(runtime.kv.driver).toBe('sqlite');
    expect((await runtime.kv.info()).location).toBe(join(folder, 'kv.db'));
    expect((await runtime.store.info()).location).toBe(join(folder, 'compozy.db'));
    await runtime.close();
    expect(await errorCode(runtime.kv.get('x'))).toBeDefined();
  });

  it('reports the tools it is given in the health rows and closes them', async () => {
    let closed = false;
    const tools: RuntimeTools = {
      call: async () => ({ scripted: true }),
      close: async () => {
        closed = true;
      },
      health: () => ({ name: 'tools', backend: 'scripted', state: 'up' }),
    };
    const memory: MemoryService = { execute: async () => ({ ok: true }) };
    const runtime = await EngineRuntime.open(context(dir()), { tools, memory });
    expect((await runtime.backendHealth()).find((row) => row.name === 'tools')).toEqual({ name: 'tools', backend: 'scripted', state: 'up' });
    await runtime.close();
    expect(closed).toBe(true);
  });

  it('takes the namespace and task queue from the settings, and needs a Temporal address', () => {
    expect(temporalTarget(settings({ name: 'p', temporal: { namespace: 'ns', task_queue: 'q' } }))).toEqual({ address: '127.0.0.1:1', namespace: 'ns', taskQueue: 'q' });
    expect(() => temporalTarget(loadSettings({ document: { name: 'p' } }, {}, {}))).toThrow(/needs a Temporal address/);
  });
});

describe('runtime.permissions that Node cannot enforce', () => {
  it('are said in the serve log and in the tools health row, not kept to itself', async () => {
    const project = dir();
    writeFileSync(join(project, 'compozy.yaml'), 'name: sandboxed\nversion: "0.1.0"\nruntime:\n  permissions:\n    - --allow-read\n');
    writeFileSync(join(project, 'entrypoint.ts'), 'export function echo(input: unknown) { return { input }; }\n');
    const lines: string[] = [];
    const runtime = await EngineRuntime.open({ ...context(join(project, '.compozy'), { name: 'sandboxed' }), project, log: (line: string) => lines.push(line) });
    closers.push(() => runtime.close());
    expect(lines.join('\n')).toContain('runtime.permissions cannot enforce: network access is not denied (Node has no network permission); environment access is not denied');
    await expect.poll(async () => (await runtime.backendHealth()).find((row) => row.name === 'tools')?.state, { timeout: 15_000 }).toBe('up');
    const tools = (await runtime.backendHealth()).find((row) => row.name === 'tools');
    expect(tools?.detail).toBe('1 tool; not enforced: network access is not denied (Node has no network permission); environment access is not denied (Node has no environment permission)');
  });
});
