import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { createMemoryManager, executeMemoryOperation, type MemoryManager, type MemoryOperationRequest } from '../../src/memory/service.js';
import { tempDir } from '../helpers/fake-bin.js';
import { memory } from './resource-helper.js';

const RESOURCES = [memory('id: notes\ntype: token_based\nmax_tokens: 100\npersistence: { type: redis, ttl: 1h }\n')];

describe('memory operations (memory tasks and the API)', () => {
  let kv: SqliteKv;
  let manager: MemoryManager;
  const run = (request: Omit<MemoryOperationRequest, 'memoryRef'> & { memoryRef?: string }) => executeMemoryOperation(manager, { memoryRef: 'notes', ...request });
  const fails = async (request: Omit<MemoryOperationRequest, 'memoryRef'> & { memoryRef?: string }) => {
    const error = await run(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompozyError);
    return error as CompozyError;
  };

  beforeEach(async () => {
    kv = SqliteKv.open(join(tempDir('memory-ops'), 'kv.db'));
    manager = await createMemoryManager({ kv, project: 'ops', resources: RESOURCES, flushDebounceMs: 3_600_000, flushMaxWaitMs: 3_600_000 });
  });
  afterEach(async () => {
    await manager.close();
    await kv.close();
  });

  it('every operation on one key answers in the service shapes', async () => {
    expect(await run({ operation: 'append', key: 'user:1', payload: { role: 'user', content: 'hello' } })).toEqual({ success: true, appended: 1, total_count: 1, key: 'user:1' });
    expect(await run({ operation: 'append', key: 'user:1', payload: [{ role: 'assistant', content: 'hi!' }] })).toMatchObject({ appended: 1, total_count: 2 });
    expect(await run({ operation: 'read', key: 'user:1' })).toEqual({ messages: [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi!' }], count: 2, key: 'user:1' });
    expect(await run({ operation: 'write', key: 'user:1', payload: [{ content: 'only this' }] })).toEqual({ success: true, count: 1, key: 'user:1' });
    expect(await run({ operation: 'stats', key: 'user:1', stats: { includeContent: true } })).toMatchObject({ key: 'user:1', message_count: 1, messages: [{ role: 'user', content: 'only this' }] });
    expect(await run({ operation: 'health', key: 'user:1', health: { includeStats: true } })).toMatchObject({ healthy: true, key: 'user:1', message_count: 1, stats: { message_count: 1 } });
    expect(await run({ operation: 'flush', key: 'user:1', flush: { dryRun: true } })).toMatchObject({ success: true, dry_run: true, would_flush: false });
    expect(await run({ operation: 'flush', key: 'user:1', flush: { dryRun: true, threshold: 0.01 } })).toMatchObject({ would_flush: true });
    expect(await run({ operation: 'clear', key: 'user:1', clear: { confirm: true } })).toEqual({ success: true, key: 'user:1', messages_cleared: 1, backup_created: false });
    expect(await run({ operation: 'delete', key: 'user:1' })).toEqual({ success: true, key: 'user:1' });
  });

  it('a glob key runs flush, health, clear and stats over every matching conversation', async () => {
    for (const key of ['user:1', 'user:2', 'team:1']) await run({ operation: 'append', key, payload: [{ content: 'a' }, { content: 'b' }] });
    const stats = await run({ operation: 'stats', key: 'user:*' });
    expect(stats).toMatchObject({ key: 'user:*', keys: ['user:1', 'user:2'], key_count: 2, success: true, message_count: 4 });
    expect((stats.results as Array<{ key: string }>).map((r) => r.key)).toEqual(['user:1', 'user:2']);
    expect(await run({ operation: 'health', key: '*', batchSize: 1 })).toMatchObject({ key_count: 3, success: true });
    expect(await run({ operation: 'stats', key: '*', maxKeys: 1 })).toMatchObject({ key_count: 1 });
    expect((await fails({ operation: 'clear', key: 'user:*' })).details).toMatchObject({ field: 'confirm' });
    expect(await run({ operation: 'clear', key: 'user:*', clear: { confirm: true } })).toMatchObject({ key_count: 2, messages_cleared: 4, success: true });
    expect(await run({ operation: 'read', key: 'team:1' })).toMatchObject({ count: 2 });
    expect(await run({ operation: 'flush', key: 'team:*', flush: { force: true } })).toMatchObject({ key_count: 1, success: true });
  });

  it('bad requests are typed errors naming the field, and write nothing', async () => {
    expect((await fails({ operation: 'forget', key: 'k' })).details).toMatchObject({ field: 'operation' });
    expect((await fails({ operation: 'read', key: 'user:*' })).details).toMatchObject({ field: 'key' });
    expect((await fails({ operation: 'append', key: 'k' })).details).toMatchObject({ field: 'payload' });
    expect((await fails({ operation: 'append', key: 'k', payload: [{ content: 'ok' }, { role: 'robot', content: 'x' }] })).details).toMatchObject({ field: 'payload[1].role' });
    expect((await fails({ operation: 'stats', key: '*', maxKeys: 50_001 })).details).toMatchObject({ field: 'max_keys' });
    expect((await fails({ operation: 'stats', key: '*', batchSize: 0 })).details).toMatchObject({ field: 'batch_size' });
    expect((await fails({ operation: 'flush', key: 'k', flush: { threshold: 2 } })).details).toMatchObject({ field: 'threshold' });
    expect((await fails({ operation: 'clear', key: 'k' })).details).toMatchObject({ field: 'confirm' });
    expect((await fails({ operation: 'read', key: 'k', memoryRef: 'nope' })).code).toBe('MEMORY_NOT_FOUND');
    expect(await run({ operation: 'read', key: 'k' })).toEqual({ messages: [], count: 0, key: 'k' });
  });
});
