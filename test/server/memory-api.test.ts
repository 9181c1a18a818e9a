import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { createMemoryManager, type MemoryManager } from '../../src/memory/service.js';
import { buildApp } from '../../src/server/app.js';
import { tempDir } from '../helpers/fake-bin.js';
import { memory } from '../memory/resource-helper.js';

const RESOURCES = [
  memory('id: notes\ntype: token_based\nmax_tokens: 100000\npersistence: { type: redis, ttl: 1h }\n'),
  memory('id: short\ntype: message_count_based\nmax_messages: 3\npersistence: { type: redis, ttl: 1h }\n'),
];
const report: HealthReport = { mode: 'standalone', project: 'p', status: 'up', components: [] };

interface Answer {
  status: number;
  message?: string;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; details: Record<string, unknown> };
}

async function open(dir: string): Promise<{ kv: SqliteKv; manager: MemoryManager; app: FastifyInstance }> {
  const kv = SqliteKv.open(join(dir, 'kv.db'));
  const manager = await createMemoryManager({ kv, project: 'api', resources: RESOURCES, flushDebounceMs: 3_600_000, flushMaxWaitMs: 3_600_000 });
  const app = buildApp({ health: async () => report, notReadyReason: () => undefined, memory: manager });
  await app.ready();
  return { kv, manager, app };
}

const n = (i: number) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `message ${i}` });

describe('memory REST API (/api/v0/memory/:memory_ref/…) on the SQLite KV', () => {
  let kv: SqliteKv;
  let manager: MemoryManager;
  let app: FastifyInstance;
  let seq = 0;
  let key: string;

  const get = async (path: string): Promise<{ code: number; body: Answer }> => {
    const answer = await app.inject({ method: 'GET', url: `/api/v0/memory/${path}` });
    return { code: answer.statusCode, body: answer.json<Answer>() };
  };
  const post = async (path: string, payload?: unknown): Promise<{ code: number; body: Answer }> => {
    const answer = await app.inject({ method: 'POST', url: `/api/v0/memory/${path}`, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
    return { code: answer.statusCode, body: answer.json<Answer>() };
  };
  const q = (k: string) => encodeURIComponent(k);
  const count = async (k = key) => (await manager.instance('notes', k).read()).count;

  beforeAll(async () => {
    ({ kv, manager, app } = await open(tempDir('memory-api')));
  });
  afterAll(async () => {
    await app.close();
    await manager.close();
    await kv.close();
  });
  beforeEach(() => {
    key = `user:${++seq}`;
  });

  it('append then read: the §5.5 shapes in the envelope', async () => {
    const appended = await post('notes/append', { key, messages: [{ role: 'user', content: 'hello' }, { content: 'role defaults to user' }] });
    expect(appended).toEqual({ code: 200, body: { status: 200, message: 'memory appended successfully', data: { success: true, appended: 2, total_count: 2, key } } });
    expect((await post('notes/append', { key, messages: [{ role: 'assistant', content: 'hi!' }] })).body.data).toEqual({ success: true, appended: 1, total_count: 3, key });
    const read = await get(`notes/read?key=${q(key)}`);
    expect(read.code).toBe(200);
    expect(read.body).toEqual({
      status: 200,
      message: 'memory read successfully',
      data: {
        key,
        messages: [{ role: 'user', content: 'hello' }, { role: 'user', content: 'role defaults to user' }, { role: 'assistant', content: 'hi!' }],
        count: 3,
        total_count: 3,
        offset: 0,
        limit: 50,
        has_more: false,
      },
    });
  });

  it('read pages: default 50, limit/offset, the last page, an offset at and past the end', async () => {
    await post('notes/append', { key, messages: Array.from({ length: 60 }, (_, i) => n(i)) });
    const first = (await get(`notes/read?key=${q(key)}`)).body.data;
    expect(first).toMatchObject({ count: 50, total_count: 60, limit: 50, offset: 0, has_more: true });
    expect((first?.messages as Array<{ content: string }>)[49]?.content).toBe('message 49');
    const last = (await get(`notes/read?key=${q(key)}&limit=10&offset=50`)).body.data;
    expect(last).toMatchObject({ count: 10, total_count: 60, has_more: false });
    expect((last?.messages as Array<{ content: string }>).map((m) => m.content)).toEqual(Array.from({ length: 10 }, (_, i) => `message ${50 + i}`));
    expect((await get(`notes/read?key=${q(key)}&limit=10&offset=55`)).body.data).toMatchObject({ count: 5, has_more: false });
    expect((await get(`notes/read?key=${q(key)}&limit=10&offset=49`)).body.data).toMatchObject({ count: 10, has_more: true });
    for (const offset of [60, 1000]) expect((await get(`notes/read?key=${q(key)}&offset=${offset}`)).body.data).toMatchObject({ messages: [], count: 0, total_count: 60, has_more: false });
    expect((await get(`notes/read?key=${q(key)}&limit=1000`)).body.data).toMatchObject({ count: 60, limit: 1000 });
    expect((await get(`notes/read?key=${q('nobody')}`)).body.data).toMatchObject({ messages: [], total_count: 0, has_more: false });
  });

  it('read refuses a limit or offset out of range instead of clamping it', async () => {
    for (const [search, field] of [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=ten', 'limit'],
      ['offset=-1', 'offset'],
      ['page=2', 'page'],
    ] as const) {
      const answer = await get(`notes/read?key=k&${search}`);
      expect(answer.code, search).toBe(400);
      expect(answer.body.error, search).toMatchObject({ code: 'INPUT_INVALID', details: { errors: [expect.objectContaining({ path: field })] } });
    }
  });

  it('write replaces every message; delete removes the conversation', async () => {
    await post('notes/append', { key, messages: [n(0), n(1)] });
    expect((await post('notes/write', { key, messages: [{ role: 'system', content: 'only this' }] })).body).toEqual({ status: 200, message: 'memory written successfully', data: { success: true, count: 1, key } });
    expect((await get(`notes/read?key=${q(key)}`)).body.data?.messages).toEqual([{ role: 'system', content: 'only this' }]);
    expect((await post('notes/delete', { key })).body).toEqual({ status: 200, message: 'memory deleted successfully', data: { success: true, key } });
    expect(await count()).toBe(0);
  });

  it('a message_count_based memory trims on append through the API', async () => {
    expect((await post('short/append', { key, messages: [n(0), n(1), n(2), n(3), n(4)] })).body.data).toMatchObject({ appended: 5, total_count: 3 });
    expect(((await get(`short/read?key=${q(key)}`)).body.data?.messages as Array<{ content: string }>).map((m) => m.content)).toEqual(['message 2', 'message 3', 'message 4']);
  });

  it('flush: dry run, forced, with another strategy; an unknown strategy is refused', async () => {
    await post('notes/append', { key, messages: Array.from({ length: 10 }, (_, i) => n(i)) });
    const dry = await post('notes/flush', { key, dry_run: true });
    expect(dry.body).toMatchObject({ status: 200, message: 'memory flushed successfully', data: { success: true, key, dry_run: true, would_flush: false, message_count: 10, actual_strategy: 'simple_fifo' } });
    expect((await post('notes/flush', { key, dry_run: true, force: true })).body.data).toMatchObject({ would_flush: true, message_count: 10 });
    expect(await count()).toBe(10);
    const summarized = await post('notes/flush', { key, force: true, strategy: 'hybrid_summary' });
    expect(summarized.body.data).toMatchObject({ success: true, summary_generated: true, actual_strategy: 'hybrid_summary' });
    expect(await count()).toBeLessThan(10);
    const bad = await post('notes/flush', { key, strategy: 'forget_all' });
    expect(bad.code).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'INPUT_INVALID', details: { errors: [expect.objectContaining({ path: 'strategy' })] } });
  });

  it('health, with and without stats', async () => {
    await post('notes/append', { key, messages: [n(0), n(1)] });
    const health = await get(`notes/health?key=${q(key)}`);
    expect(health.body).toMatchObject({ status: 200, message: 'memory health retrieved successfully', data: { healthy: true, key, message_count: 2, actual_strategy: 'simple_fifo' } });
    expect(health.body.data).not.toHaveProperty('stats');
    expect((await get(`notes/health?key=${q(key)}&include_stats=true`)).body.data?.stats).toMatchObject({ message_count: 2, role_distribution: { user: 1, assistant: 1 } });
    expect((await get(`notes/health?key=${q(key)}&include_stats=maybe`)).code).toBe(400);
  });

  it('clear needs confirm: true, and then answers how many messages went', async () => {
    await post('notes/append', { key, messages: [n(0), n(1), n(2)] });
    for (const payload of [{ key }, { key, confirm: false }]) {
      const refused = await post('notes/clear', payload);
      expect(refused.code).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'INPUT_INVALID', details: { field: 'confirm' } });
    }
    expect(await count()).toBe(3);
    expect((await post('notes/clear', { key, confirm: true, backup: true })).body).toEqual({ status: 200, message: 'memory cleared successfully', data: { success: true, key, messages_cleared: 3, backup_created: true } });
    expect(await count()).toBe(0);
  });

  it('stats: the reference fields, role_distribution over one page, pagination_info only when paged', async () => {
    await post('notes/append', { key, messages: [...Array.from({ length: 4 }, (_, i) => n(i)), { role: 'system', content: 'note' }] });
    const whole = await get(`notes/stats?key=${q(key)}`);
    expect(whole.body).toMatchObject({
      status: 200,
      message: 'memory statistics retrieved successfully',
      data: { key, message_count: 5, context_window_used: 5, token_limit: 100000, role_distribution: { user: 2, assistant: 2, system: 1 } },
    });
    expect(whole.body.data?.token_count).toBeGreaterThan(0);
    expect(whole.body.data?.token_utilization).toBeCloseTo((whole.body.data?.token_count as number) / 100000, 4);
    expect(whole.body.data).not.toHaveProperty('pagination_info');
    const page = (await get(`notes/stats?key=${q(key)}&limit=2&offset=3`)).body.data;
    expect(page).toMatchObject({ message_count: 5, role_distribution: { assistant: 1, system: 1 }, pagination_info: { limit: 2, offset: 3, total_count: 5, has_more: false } });
    expect((await get(`notes/stats?key=${q(key)}&limit=2`)).body.data).toMatchObject({ role_distribution: { user: 1, assistant: 1 }, pagination_info: { has_more: true } });
  });

  it('a glob key: health, stats, flush and clear over every matching conversation; read refuses it', async () => {
    const prefix = `team${seq}`;
    for (const k of [`${prefix}:a`, `${prefix}:b`]) await post('notes/append', { key: k, messages: [n(0), n(1)] });
    const stats = await get(`notes/stats?key=${q(`${prefix}:*`)}`);
    expect(stats.body.data).toMatchObject({ key: `${prefix}:*`, keys: [`${prefix}:a`, `${prefix}:b`], key_count: 2, message_count: 4, success: true });
    expect((await get(`notes/stats?key=${q(`${prefix}:*`)}&limit=5`)).body.error).toMatchObject({ code: 'INPUT_INVALID', details: { field: 'limit' } });
    expect((await get(`notes/health?key=${q(`${prefix}:*`)}`)).body.data).toMatchObject({ key_count: 2, success: true });
    expect((await post('notes/flush', { key: `${prefix}:*`, dry_run: true, max_keys: 1 })).body.data).toMatchObject({ key_count: 1 });
    const read = await get(`notes/read?key=${q(`${prefix}:*`)}`);
    expect(read.code).toBe(400);
    expect(read.body.error).toMatchObject({ code: 'INPUT_INVALID', details: { field: 'key' } });
    expect((await post('notes/clear', { key: `${prefix}:*`, confirm: true })).body.data).toMatchObject({ key_count: 2, messages_cleared: 4 });
    expect(await count(`${prefix}:a`)).toBe(0);
  });

  it('an unknown memory is 404 MEMORY_NOT_FOUND naming the ones the project has, on every route', async () => {
    const answers = [
      await get('nope/read?key=k'),
      await get('nope/health?key=k'),
      await get('nope/stats?key=k'),
      await post('nope/append', { key: 'k', messages: [{ role: 'robot', content: 'x' }] }),
      await post('nope/write', { key: 'k', messages: [] }),
      await post('nope/delete', { key: 'k' }),
      await post('nope/flush', { key: 'k' }),
      await post('nope/clear', { key: 'k', confirm: true }),
    ];
    for (const answer of answers) {
      expect(answer.code).toBe(404);
      expect(answer.body).toMatchObject({ status: 404, error: { code: 'MEMORY_NOT_FOUND', message: 'Memory "nope" does not exist.', details: { memory_ref: 'nope', known: ['notes', 'short'], hint: 'Known memories: notes, short.' } } });
    }
  });

  it('a missing, empty, too long or control-character key is 400 INPUT_INVALID naming the key', async () => {
    const missing = [await get('notes/read'), await get('notes/stats'), await get('notes/health'), await post('notes/append', { messages: [] }), await post('notes/delete', {}), await post('notes/clear')];
    for (const answer of missing) {
      expect(answer.code).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining('"key"'), details: { errors: [expect.objectContaining({ path: 'key' })] } });
    }
    for (const bad of ['', ' ', 'x'.repeat(256), 'user\u00011']) {
      const answer = await post('notes/append', { key: bad, messages: [n(0)] });
      expect(answer.code, JSON.stringify(bad)).toBe(400);
      expect(answer.body.error, JSON.stringify(bad)).toMatchObject({ code: 'INPUT_INVALID', details: { field: 'key' } });
    }
    expect((await get(`notes/read?key=${'x'.repeat(255)}`)).code).toBe(200);
  });

  it('a bad body is refused naming the field, and nothing is written', async () => {
    await post('notes/append', { key, messages: [n(0)] });
    const cases: Array<[unknown, string, 'errors' | 'field']> = [
      [{ key, messages: [n(1), { role: 'robot', content: 'x' }] }, 'messages[1].role', 'errors'],
      [{ key, messages: [{ role: 'user' }] }, 'messages[0].content', 'errors'],
      [{ key, messages: [{ role: 'user', content: 5 }] }, 'messages[0].content', 'errors'],
      [{ key, messages: [{ role: 'user', content: 'x', name: 'bob' }] }, 'messages[0].name', 'errors'],
      [{ key, messages: { role: 'user', content: 'x' } }, 'messages', 'errors'],
      [{ key }, 'messages', 'errors'],
      [{ key, messages: [], extra: 1 }, 'extra', 'errors'],
      [{ key, messages: Array.from({ length: 101 }, (_, i) => n(i)) }, 'messages', 'errors'],
      [{ key, messages: [n(1), { role: 'user', content: 'x'.repeat(10 * 1024 + 1) }] }, 'messages[1].content', 'field'],
      [{ key, messages: [n(1), { role: 'user', content: 'é'.repeat(5 * 1024 + 1) }] }, 'messages[1].content', 'field'],
      [{ key, messages: Array.from({ length: 11 }, () => ({ role: 'user', content: 'x'.repeat(10 * 1024) })) }, 'messages', 'field'],
    ];
    for (const [payload, field, shape] of cases) {
      for (const operation of ['append', 'write']) {
        const answer = await post(`notes/${operation}`, payload);
        const label = `${operation} ${field} ${JSON.stringify(payload).slice(0, 80)}`;
        expect(answer.code, label).toBe(400);
        if (shape === 'field') expect(answer.body.error, label).toMatchObject({ code: 'INPUT_INVALID', details: { field } });
        else expect(answer.body.error, label).toMatchObject({ code: 'INPUT_INVALID', details: { errors: [expect.objectContaining({ path: field })] } });
      }
    }
    expect((await get(`notes/read?key=${q(key)}`)).body.data?.messages).toEqual([n(0)]);
    // Exactly at the limits is accepted.
    const full = await post('notes/append', { key, messages: Array.from({ length: 10 }, () => ({ role: 'user', content: 'x'.repeat(10 * 1024) })) });
    expect(full.body.data).toMatchObject({ appended: 10, total_count: 11 });
  });

  it('/openapi.json documents every memory route, with its key and body, and stays valid', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { tags: string[]; parameters?: Array<{ name: string; in: string; required?: boolean }>; requestBody?: { content: Record<string, { schema: { required?: string[] } }> }; responses: Record<string, unknown> }>> }>();
    const validator = new Validator();
    expect((await validator.validate(spec as unknown as Record<string, unknown>)).valid).toBe(true);
    const routes = { read: 'get', health: 'get', stats: 'get', write: 'post', append: 'post', delete: 'post', flush: 'post', clear: 'post' } as const;
    for (const [name, method] of Object.entries(routes)) {
      const operation = spec.paths[`/api/v0/memory/{memory_ref}/${name}`]?.[method];
      expect(operation, name).toBeDefined();
      expect(operation?.tags).toEqual(['memory']);
      expect(operation?.parameters?.find((p) => p.in === 'path')?.name).toBe('memory_ref');
      expect(Object.keys(operation?.responses ?? {}).sort(), name).toEqual(['200', '400', '404', '503']);
      if (method === 'get') expect(operation?.parameters?.find((p) => p.name === 'key'), name).toMatchObject({ in: 'query', required: true });
      else expect(operation?.requestBody?.content['application/json']?.schema.required, name).toContain('key');
    }
    expect(Object.keys(spec.paths).filter((path) => path.startsWith('/api/v0/memory/')).length).toBe(8);
  });
});

describe('memory REST API when the KV is down', () => {
  it('answers 503 MEMORY_UNAVAILABLE naming the backend, not a crash', async () => {
    const { kv, manager, app } = await open(tempDir('memory-api-down'));
    try {
      await kv.close();
      for (const answer of [
        await app.inject({ method: 'GET', url: '/api/v0/memory/notes/read?key=k' }),
        await app.inject({ method: 'POST', url: '/api/v0/memory/notes/append', payload: { key: 'k', messages: [{ content: 'x' }] } }),
        await app.inject({ method: 'GET', url: '/api/v0/memory/notes/stats?key=k' }),
      ]) {
        expect(answer.statusCode).toBe(503);
        expect(answer.json()).toMatchObject({ status: 503, error: { code: 'MEMORY_UNAVAILABLE', message: expect.stringContaining('SQLite KV is unavailable'), details: { backend: 'sqlite' } } });
      }
    } finally {
      await app.close();
      await manager.close();
    }
  });
});
