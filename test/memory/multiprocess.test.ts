import { createClient } from '@redis/client';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/kv.js';
import { RedisKv } from '../../src/kv/redis/redis-kv.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { createMemoryManager, type MemoryMessage } from '../../src/memory/service.js';
import { loadTokenCounter } from '../../src/memory/tokens.js';
import { tempDir } from '../helpers/fake-bin.js';
import { REDIS_URL, withService } from '../helpers/services.js';
import { memory } from './resource-helper.js';

const WORKER = join(import.meta.dirname, 'workers', 'memory-worker.mjs');
const UNBOUNDED = 'resource: memory\nid: log\ntype: token_based\nmax_tokens: 100000000\npersistence: { type: redis, ttl: 1h }\n';
const WINDOW = 'resource: memory\nid: log\ntype: message_count_based\nmax_messages: 500\npersistence: { type: redis, ttl: 1h }\n';
const N = 1000;

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [WORKER, ...args]);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stderr })));
}

/** Two OS processes append N messages each to one conversation; returns what is stored and its counters. */
async function race(driver: 'sqlite' | 'redis', location: string, prefix: string, yaml: string, open: () => Promise<Kv>) {
  const results = await Promise.all(['A', 'B'].map((name) => run([driver, location, prefix, yaml, name, String(N)])));
  expect(results.map((r) => r.code), results.map((r) => r.stderr).join('\n')).toEqual([0, 0]);
  const kv = await open();
  const manager = await createMemoryManager({ kv, project: 'multiprocess', resources: [memory(yaml.replace('resource: memory\n', ''))] });
  const instance = manager.instance('log', 'shared');
  const { messages } = await instance.read();
  const meta = await instance.metadata();
  await manager.close();
  await kv.close();
  return { messages, meta };
}

async function tokens(messages: readonly MemoryMessage[]): Promise<number> {
  const counter = await loadTokenCounter('o200k_base');
  return messages.reduce((sum, m) => sum + counter.count(m), 0);
}

function expectNoLossNoDuplicates(messages: readonly MemoryMessage[], expected: number): void {
  const contents = messages.map((m) => m.content);
  expect(new Set(contents).size).toBe(contents.length);
  expect(contents).toHaveLength(expected);
  for (const name of ['A', 'B']) {
    const own = contents.filter((c) => c.startsWith(`${name} `)).map((c) => Number(c.slice(2)));
    // A trim only ever removes the oldest: what is left of each process's messages is the tail of its
    // sequence, in order (all of it without trimming).
    const from = expected === 2 * N ? 0 : (own[0] ?? N);
    expect(own).toEqual(Array.from({ length: N - from }, (_, i) => from + i));
  }
  expect(contents.at(-1)).toMatch(/^[AB] 999$/);
}

function suite(driver: 'sqlite' | 'redis', target: () => { location: string; prefix: string; open: () => Promise<Kv> }): void {
  describe(`memory across OS processes: ${driver}`, () => {
    it(`two processes append ${N} messages each: ${2 * N} messages, none lost or duplicated, exact counters`, async () => {
      const { location, prefix, open } = target();
      const { messages, meta } = await race(driver, location, prefix, UNBOUNDED, open);
      expectNoLossNoDuplicates(messages, 2 * N);
      expect(meta).toMatchObject({ message_count: 2 * N, token_count: await tokens(messages) });
    }, 120_000);

    it('with message_count_based trimming: exactly max_messages kept, counters those of the kept messages', async () => {
      const { location, prefix, open } = target();
      const { messages, meta } = await race(driver, location, prefix, WINDOW, open);
      expectNoLossNoDuplicates(messages, 500);
      expect(meta).toMatchObject({ message_count: 500, token_count: await tokens(messages) });
    }, 120_000);
  });
}

suite('sqlite', () => {
  const location = join(tempDir('memory-mp'), 'kv.db');
  return { location, prefix: '', open: async () => SqliteKv.open(location) };
});

const RUN = `compozy-test:memory-mp:${randomUUID()}`;

afterAll(async () => {
  const client = createClient({ url: REDIS_URL });
  await client.connect().catch(() => undefined);
  if (!client.isOpen) return;
  for await (const keys of client.scanIterator({ MATCH: `${RUN}:*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
  await client.close();
});

await withService('Redis', REDIS_URL, 6379, () => {
  suite('redis', () => {
    const prefix = `${RUN}:${randomUUID()}:`;
    return { location: REDIS_URL, prefix, open: () => RedisKv.connect({ url: REDIS_URL, prefix }) };
  });
});
