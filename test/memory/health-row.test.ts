import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import { EngineRuntime } from '../../src/server/runtime.js';
import { REPO } from '../helpers/cli.js';
import { tempDir } from '../helpers/fake-bin.js';
import { writeFiles } from '../helpers/files.js';

// Nothing listens there: the runtime's Temporal connection is lazy, and these tests start no worker.
const settings = (name: string) => loadSettings({ document: { name } }, { temporalAddress: '127.0.0.1:1' }, {});

async function open(project: string, name: string): Promise<{ runtime: EngineRuntime; done: () => Promise<void> }> {
  const stateDir = tempDir('memory-health');
  const runtime = await EngineRuntime.open({ project, stateDir, settings: settings(name), log: () => undefined, workerAvailable: async () => false });
  return {
    runtime,
    done: async () => {
      await runtime.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

describe('the memory health row', () => {
  it('names the embedded KV, counts resources and conversations', async () => {
    const dir = writeFiles({
      'compozy.yaml': 'name: memhealth\nautoload:\n  enabled: true\n  include: [memory/*.yaml]\n',
      'memory/notes.yaml': 'resource: memory\nid: notes\nkey: "notes:{{ .workflow.input.user }}"\ntype: message_count_based\nmax_messages: 50\npersistence: { type: redis, ttl: 24h }\n',
    });
    const { runtime, done } = await open(dir, 'memhealth');
    try {
      await runtime.memory.instance('notes', 'user:a').append([{ role: 'user', content: 'hi' }]);
      await runtime.memory.instance('notes', 'user:b').append([{ role: 'user', content: 'hi' }]);
      const row = (await runtime.backendHealth()).find((r) => r.name === 'memory');
      expect(row).toEqual({ name: 'memory', backend: 'sqlite (embedded KV)', state: 'up', detail: '1 resource, 2 keys' });
    } finally {
      await done();
    }
  });

  it('is left out when the project declares no memories', async () => {
    const { runtime, done } = await open(join(REPO, 'test', 'fixtures', 'minimal'), 'minimal');
    try {
      expect((await runtime.backendHealth()).map((r) => r.name)).not.toContain('memory');
    } finally {
      await done();
    }
  });
});
