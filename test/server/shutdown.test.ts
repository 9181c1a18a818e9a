import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import { ShutdownError, shutDown } from '../../src/platform/shutdown.js';
import { EngineProcess } from '../../src/server/process-handle.js';
import { EngineRuntime, type RuntimeTools } from '../../src/server/runtime.js';
import { REPO } from '../helpers/cli.js';
import { errorCode } from '../helpers/errors.js';
import { tempDir } from '../helpers/fake-bin.js';

const MINIMAL = join(REPO, 'test', 'fixtures', 'minimal');
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Tools whose close always fails, as a tool pool whose processes cannot be stopped would. */
const failingTools: RuntimeTools = {
  call: async () => ({}),
  close: async () => {
    throw new Error('tool pool stuck');
  },
  health: () => undefined,
};

/** A runtime on its own SQLite KV and store (no Temporal is contacted: its connection is lazy and no worker starts). */
async function runtime(lines: string[]): Promise<EngineRuntime> {
  const stateDir = tempDir('shutdown');
  dirs.push(stateDir);
  const settings = loadSettings({ document: { name: 'minimal' } }, { temporalAddress: '127.0.0.1:1' }, {});
  return EngineRuntime.open({ project: MINIMAL, stateDir, settings, log: (line) => lines.push(line), workerAvailable: async () => false }, { tools: failingTools });
}

describe('shutdown with a failing step', () => {
  it('shutDown runs every step after a failure, logs each failure and throws them all at the end', async () => {
    const ran: string[] = [];
    const lines: string[] = [];
    const error = await shutDown(
      [
        { name: 'a', close: () => void ran.push('a') },
        [
          {
            name: 'b',
            close: () => {
              ran.push('b');
              throw new Error('b broke');
            },
          },
          { name: 'c', close: async () => void ran.push('c') },
        ],
        {
          name: 'd',
          close: async () => {
            ran.push('d');
            throw new Error('d broke');
          },
        },
        { name: 'e', close: () => void ran.push('e') },
      ],
      (line) => lines.push(line),
    ).catch((thrown: unknown) => thrown);
    expect(ran).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(error).toBeInstanceOf(ShutdownError);
    expect(error).toMatchObject({ steps: ['b', 'd'], message: 'shutdown failed: b: b broke; d: d broke' });
    expect((error as ShutdownError).errors.map((e: Error) => e.message)).toEqual(['b broke', 'd broke']);
    expect(lines).toEqual(['stopping: b failed: b broke', 'stopping: d failed: d broke']);
  });

  it('EngineRuntime.close() still closes the memory manager, the KV and the store when the tools fail to close', async () => {
    const lines: string[] = [];
    const opened = await runtime(lines);
    await expect(opened.close()).rejects.toMatchObject({ name: 'ShutdownError', steps: ['tools'] });
    expect(await errorCode(opened.kv.get('x'))).toBe('KV_CLOSED');
    expect(await errorCode(opened.store.info())).toBeDefined();
    expect(lines).toContain('stopping: tools failed: tool pool stuck');
  });

  it('EngineProcess.stop() runs every step after a failing one and settles `stopped` with the failure', async () => {
    const lines: string[] = [];
    const opened = await runtime(lines);
    let temporalStopped = false;
    const process = new EngineProcess(opened, {
      front: {
        name: 'http server',
        close: async () => {
          throw new Error('server would not close');
        },
      },
      back: [{ name: 'temporal dev server', close: async () => void (temporalStopped = true) }],
    });
    const stopping = process.stop();
    await expect(stopping).rejects.toBeInstanceOf(ShutdownError);
    const error = (await stopping.catch((thrown: unknown) => thrown)) as ShutdownError;
    expect(error.steps).toEqual(['tools', 'http server', 'tools']);
    await expect(process.stopped).rejects.toBe(error);
    expect(process.stop()).toBe(stopping);
    expect(temporalStopped).toBe(true);
    expect(await errorCode(opened.kv.get('x'))).toBe('KV_CLOSED');
    expect(lines).toContain('stopping: http server failed: server would not close');
  });
});
