import { describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { createMemoryManager, memoryKeyTemplate, parseMemoryPayload } from '../../src/memory/service.js';
import { loadTokenCounter } from '../../src/memory/tokens.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { memory } from './resource-helper.js';

function field(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CompozyError);
    expect((error as CompozyError).code).toBe('INPUT_INVALID');
    return (error as CompozyError).details?.field;
  }
  throw new Error('expected INPUT_INVALID');
}

describe('memory payloads, key templates and token providers', () => {
  it('a payload is one message or a list; role defaults to user; scalar content from a typed template is its text', () => {
    expect(parseMemoryPayload({ content: 'hi' })).toEqual([{ role: 'user', content: 'hi' }]);
    expect(parseMemoryPayload([{ role: 'assistant', content: 'a' }, { role: 'system', content: 42 }, { content: true }])).toEqual([
      { role: 'assistant', content: 'a' },
      { role: 'system', content: '42' },
      { role: 'user', content: 'true' },
    ]);
  });

  it('a bad payload names the field', () => {
    expect(field(() => parseMemoryPayload(undefined))).toBe('payload');
    expect(field(() => parseMemoryPayload('just text'))).toBe('payload');
    expect(field(() => parseMemoryPayload([{ content: 'ok' }, { role: 'robot', content: 'x' }]))).toBe('payload[1].role');
    expect(field(() => parseMemoryPayload([{ content: { nested: true } }]))).toBe('payload[0].content');
    expect(field(() => parseMemoryPayload({ content: 'x', name: 'bob' }))).toBe('payload.name');
    expect(field(() => parseMemoryPayload(Array.from({ length: 101 }, () => ({ content: 'x' }))))).toBe('payload');
    expect(field(() => parseMemoryPayload({ content: 'é'.repeat(5121) }, 'messages'))).toBe('messages.content');
    expect(field(() => parseMemoryPayload([{ content: 'ok' }, { content: 'é'.repeat(5121) }]))).toBe('payload[1].content');
  });

  it('the key template: the caller override, else the resource key, else an error naming the memory', () => {
    const withKey = memory('id: m\nkey: "user:{{ .workflow.input.id }}"\ntype: buffer\npersistence: { type: in_memory }\n');
    const without = memory('id: bare\ntype: buffer\npersistence: { type: in_memory }\n');
    expect(memoryKeyTemplate(withKey)).toBe('user:{{ .workflow.input.id }}');
    expect(memoryKeyTemplate(withKey, 'chat:{{ .agent.id }}')).toBe('chat:{{ .agent.id }}');
    expect(field(() => memoryKeyTemplate(without))).toBe('key');
  });

  it('token_provider picks the encoding the counts use', async () => {
    const kv = SqliteKv.open(':memory:');
    const legacy = memory('id: legacy\ntype: token_based\nmax_tokens: 1000\npersistence: { type: redis, ttl: 1h }\ntoken_provider: { provider: openai, model: gpt-4 }\n');
    const modern = memory('id: modern\ntype: token_based\nmax_tokens: 1000\npersistence: { type: redis, ttl: 1h }\n');
    const manager = await createMemoryManager({ kv, project: 'tokens', resources: [legacy, modern] });
    const text = { role: 'user' as const, content: 'Les prévisions météorologiques pour Zürich: 😀 orages, grêle, 35 °C.' };
    const [cl100k, o200k] = await Promise.all([loadTokenCounter('cl100k_base'), loadTokenCounter('o200k_base')]);
    expect(cl100k.count(text)).not.toBe(o200k.count(text));
    await manager.instance('legacy', 'k').append([text]);
    await manager.instance('modern', 'k').append([text]);
    expect((await manager.instance('legacy', 'k').metadata()).token_count).toBe(cl100k.count(text));
    expect((await manager.instance('modern', 'k').metadata()).token_count).toBe(o200k.count(text));
    await manager.close();
    await kv.close();
  });
});
