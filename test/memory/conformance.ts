import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MemoryResource } from '../../src/config/types.js';
import { CompozyError } from '../../src/errors.js';
import type { Kv } from '../../src/kv/kv.js';
import { createMemoryManager, type MemoryManager, type MemoryMessage, type MemoryWarning } from '../../src/memory/service.js';
import { loadTokenCounter } from '../../src/memory/tokens.js';
import { errorCode } from '../helpers/errors.js';
import { memory } from './resource-helper.js';

export interface MemoryKvFactory {
  /** A fresh, empty KV (its own file or key prefix). */
  open(): Promise<Kv>;
}

const RESOURCES: MemoryResource[] = [
  memory('id: chat\ntype: token_based\nmax_tokens: 200\npersistence: { type: redis, ttl: 1h }\n'),
  memory('id: window\ntype: message_count_based\nmax_messages: 5\npersistence: { type: redis, ttl: 1h }\n'),
  memory('id: fifo\ntype: token_based\nmax_tokens: 100\nflushing: { type: simple_fifo }\npersistence: { type: redis, ttl: 1h }\n'),
  memory('id: summary\ntype: token_based\nmax_tokens: 100\nflushing: { type: hybrid_summary, summary_tokens: 60, summarize_oldest_percent: 0.5 }\npersistence: { type: redis, ttl: 1h }\n'),
  memory('id: lru\ntype: message_count_based\nmax_messages: 10\nflushing: { type: lru }\npersistence: { type: redis, ttl: 1h }\n'),
  memory('id: tlru\ntype: token_based\nmax_tokens: 100\nflushing: { type: token_aware_lru }\npersistence: { type: redis, ttl: 1h }\n'),
  memory('id: keep\ntype: message_count_based\nmax_messages: 10\nflushing: { type: lru }\neviction_policy: { type: priority, priority_keywords: [allergy] }\npersistence: { type: redis, ttl: 1h }\n'),
  memory(
    'id: private\ntype: token_based\nmax_tokens: 1000\npersistence: { type: redis, ttl: 1h }\nprivacy_policy:\n  redact_patterns: ["\\\\b\\\\d{3}-\\\\d{2}-\\\\d{4}\\\\b", "(?i)password=\\\\S+"]\n  non_persistable_message_types: [tool]\n  default_redaction_string: "[gone]"\n',
  ),
  memory('id: budget\ntype: token_based\nmax_tokens: 100\ntoken_allocation: { short_term: 0.6, long_term: 0.3, system: 0.1 }\npersistence: { type: redis, ttl: 1h }\n'),
  memory('id: scratch\ntype: buffer\nmax_messages: 3\npersistence: { type: in_memory }\n'),
  memory('id: fragile\ntype: token_based\nmax_tokens: 100\npersistence: { type: redis, ttl: 1h, circuit_breaker: { enabled: true, max_failures: 2, reset_timeout: 1m } }\n'),
];

const user = (content: string): MemoryMessage => ({ role: 'user', content });
/** Messages of about ten tokens each. */
const words = (i: number): MemoryMessage => user(`message number ${i} about the weather in Paris today`);

/** Every operation of the memory store and service (reference §5.3–§5.5), run against one KV adapter. */
export function defineMemoryConformance(name: string, factory: MemoryKvFactory): void {
  describe(`memory conformance: ${name}`, () => {
    let kv: Kv;
    let manager: MemoryManager;
    let warnings: MemoryWarning[];
    const tokens = async (messages: readonly MemoryMessage[]) => {
      const counter = await loadTokenCounter('o200k_base');
      return messages.reduce((sum, m) => sum + counter.count(m), 0);
    };

    beforeEach(async () => {
      kv = await factory.open();
      warnings = [];
      // The debounced flush after appends is tested on its own; elsewhere flushes are called explicitly.
      manager = await createMemoryManager({ kv, project: 'conformance', resources: RESOURCES, onWarning: (w) => warnings.push(w), flushDebounceMs: 3_600_000, flushMaxWaitMs: 3_600_000 });
    });
    afterEach(async () => {
      await manager.close();
      await kv.close().catch(() => undefined);
    });

    describe('append, read, count, metadata', () => {
      it('append stores messages in order with exact token and message counters', async () => {
        const chat = manager.instance('chat', 'user:1');
        const first = [user('hello there'), { role: 'assistant', content: 'Hi! How can I help?' } as MemoryMessage];
        expect(await chat.append(first)).toEqual({ success: true, appended: 2, total_count: 2, key: 'user:1' });
        expect(await chat.append([user('what is the weather?')])).toEqual({ success: true, appended: 1, total_count: 3, key: 'user:1' });
        const all = [...first, user('what is the weather?')];
        expect(await chat.read()).toEqual({ messages: all, count: 3, key: 'user:1' });
        expect(await chat.count()).toBe(3);
        const meta = await chat.metadata();
        expect(meta).toMatchObject({ message_count: 3, token_count: await tokens(all), last_flush: null, flush_pending: false });
        expect(meta.token_count).toBe((await tokens([user('hello there')])) + (await tokens(all.slice(1))));
      });

      it('a message counts content + role + 2 tokens (reference §5.5)', async () => {
        const counter = await loadTokenCounter('o200k_base');
        expect(counter.count(user('hello'))).toBe(1 + 1 + 2);
        const chat = manager.instance('chat', 'k');
        await chat.append([user('hello')]);
        expect((await chat.metadata()).token_count).toBe(4);
      });

      it('message_count_based keeps the newest max_messages, with counters that match what is kept', async () => {
        const window = manager.instance('window', 'w');
        const all = Array.from({ length: 8 }, (_, i) => words(i));
        for (const m of all.slice(0, 6)) await window.append([m]);
        expect(await window.append(all.slice(6))).toMatchObject({ appended: 2, total_count: 5 });
        expect((await window.read()).messages).toEqual(all.slice(3));
        expect(await window.metadata()).toMatchObject({ message_count: 5, token_count: await tokens(all.slice(3)) });
      });

      it('paginated reads at the edges', async () => {
        const chat = manager.instance('chat', 'pages');
        const all = Array.from({ length: 5 }, (_, i) => user(`m${i}`));
        await chat.append(all);
        expect(await chat.readPaginated(0, 2)).toEqual({ messages: all.slice(0, 2), count: 2, total_count: 5, offset: 0, limit: 2, has_more: true, key: 'pages' });
        expect(await chat.readPaginated(3, 2)).toMatchObject({ messages: all.slice(3), count: 2, has_more: false });
        expect(await chat.readPaginated(4, 1000)).toMatchObject({ messages: all.slice(4), count: 1, total_count: 5, has_more: false });
        expect(await chat.readPaginated(5, 10)).toMatchObject({ messages: [], count: 0, total_count: 5, has_more: false });
        expect(await chat.readPaginated(99, 10)).toMatchObject({ messages: [], count: 0, total_count: 5 });
        expect(await manager.instance('chat', 'empty').readPaginated(0, 10)).toMatchObject({ messages: [], total_count: 0, has_more: false });
        for (const [offset, limit, field] of [[-1, 10, 'offset'], [0, 0, 'limit'], [0, 1001, 'limit'], [1.5, 10, 'offset']] as const) {
          const error = await chat.readPaginated(offset, limit).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(CompozyError);
          expect((error as CompozyError).code).toBe('INPUT_INVALID');
          expect((error as CompozyError).details).toMatchObject({ field });
        }
      });

      it('write replaces every message atomically; delete removes the conversation', async () => {
        const chat = manager.instance('chat', 'rewrite');
        await chat.append([user('old 1'), user('old 2'), user('old 3')]);
        const next = [{ role: 'system', content: 'be brief' } as MemoryMessage, user('new')];
        expect(await chat.write(next)).toEqual({ success: true, count: 2, key: 'rewrite' });
        expect((await chat.read()).messages).toEqual(next);
        expect(await chat.metadata()).toMatchObject({ message_count: 2, token_count: await tokens(next) });
        expect(await chat.delete()).toEqual({ success: true, key: 'rewrite' });
        expect(await chat.read()).toEqual({ messages: [], count: 0, key: 'rewrite' });
        expect(await chat.metadata()).toMatchObject({ message_count: 0, token_count: 0, ttl_ms: -2 });
      });

      it('two projects on one KV never share a conversation, nor two resources', async () => {
        const other = await createMemoryManager({ kv, project: 'another project', resources: RESOURCES });
        await manager.instance('chat', 'user:1').append([user('mine')]);
        expect(await other.instance('chat', 'user:1').count()).toBe(0);
        expect(await manager.instance('fifo', 'user:1').count()).toBe(0);
        expect(manager.instance('chat', 'user:1').instanceKey).not.toBe(other.instance('chat', 'user:1').instanceKey);
        await other.close();
      });

      it('keys lists the conversations of a resource matching a glob', async () => {
        for (const key of ['user:1', 'user:2', 'team:1']) await manager.instance('chat', key).append([user('x')]);
        await manager.instance('window', 'user:9').append([user('x')]);
        expect(await manager.keys('chat', 'user:*')).toEqual(['user:1', 'user:2']);
        expect(await manager.keys('chat', '*')).toEqual(['team:1', 'user:1', 'user:2']);
        expect(await manager.keys('chat', '*', { maxKeys: 1 })).toHaveLength(1);
        expect(await manager.health()).toEqual({ driver: kv.driver, resources: RESOURCES.length, keys: 4 });
      });

      it('history gives the newest messages within the token budget, oldest first', async () => {
        const chat = manager.instance('chat', 'h');
        const all = Array.from({ length: 6 }, (_, i) => words(i));
        await chat.append(all);
        const per = await tokens([all[0] as MemoryMessage]);
        expect(await chat.history({ maxTokens: per * 2 })).toEqual(all.slice(4));
        expect(await chat.history()).toEqual(all);
      });

      it('token_allocation splits the history budget: summaries long-term, system messages, the rest short-term', async () => {
        const budget = manager.instance('budget', 'b');
        const system: MemoryMessage = { role: 'system', content: 'You are a helpful assistant who always answers in French.' };
        const conversation = Array.from({ length: 8 }, (_, i) => words(i));
        await budget.append([system, ...conversation]);
        const history = await budget.history();
        expect(history).not.toContainEqual(system);
        expect(await tokens(history)).toBeLessThanOrEqual(60);
        expect(history).toEqual(conversation.slice(-history.length));
      });
    });

    describe('TTL', () => {
      it('an append sets persistence.ttl, and refreshes it only when less than half is left', async () => {
        const chat = manager.instance('chat', 'ttl');
        await chat.append([user('a')]);
        expect((await chat.metadata()).ttl_ms).toBeGreaterThan(3_590_000);
        await kv.pexpire(chat.instanceKey, 2_400_000);
        await chat.append([user('b')]);
        expect((await chat.metadata()).ttl_ms).toBeLessThanOrEqual(2_400_000);
        await kv.pexpire(chat.instanceKey, 600_000);
        await chat.append([user('c')]);
        expect((await chat.metadata()).ttl_ms).toBeGreaterThan(3_590_000);
        expect(await kv.pttl(`${chat.instanceKey}:meta`)).toBeGreaterThan(3_590_000);
      });

      it('write sets the TTL too; in_memory memories without a ttl never expire', async () => {
        const chat = manager.instance('chat', 'ttl-write');
        await chat.write([user('a')]);
        expect((await chat.metadata()).ttl_ms).toBeGreaterThan(3_590_000);
        const scratch = manager.instance('scratch', 's');
        await scratch.append([user('1'), user('2'), user('3'), user('4')]);
        expect((await scratch.read()).messages).toEqual([user('2'), user('3'), user('4')]);
        expect((await scratch.metadata()).ttl_ms).toBe(-1);
        expect(await kv.exists(scratch.instanceKey)).toBe(0);
      });
    });

    describe('flushing', () => {
      const fill = async (ref: string, key: string, n: number) => {
        const instance = manager.instance(ref, key);
        for (let i = 0; i < n; i++) await instance.append([words(i)]);
        return instance;
      };
      const consistent = async (ref: string, key: string) => {
        const instance = manager.instance(ref, key);
        const { messages } = await instance.read();
        expect(await instance.metadata()).toMatchObject({ message_count: messages.length, token_count: await tokens(messages) });
        return messages;
      };

      it('a flush is a no-op under the threshold, a dry run changes nothing', async () => {
        const fifo = await fill('fifo', 'under', 2);
        expect(await fifo.flush()).toMatchObject({ success: true, would_flush: false, message_count: 2, dry_run: false, actual_strategy: 'simple_fifo', summary_generated: false });
        const full = await fill('fifo', 'over', 9);
        const before = await full.read();
        expect(await full.flush({ dryRun: true })).toMatchObject({ success: true, would_flush: true, dry_run: true, message_count: 9 });
        expect(await full.read()).toEqual(before);
      });

      it('simple_fifo drops the oldest until half the token limit is left', async () => {
        const fifo = await fill('fifo', 'k', 9);
        const all = (await fifo.read()).messages;
        const result = await fifo.flush();
        expect(result).toMatchObject({ success: true, would_flush: true, summary_generated: false, actual_strategy: 'simple_fifo' });
        const kept = await consistent('fifo', 'k');
        expect(await tokens(kept)).toBeLessThanOrEqual(50);
        expect(kept).toEqual(all.slice(all.length - kept.length));
        expect(result).toMatchObject({ message_count: kept.length, token_count: await tokens(kept) });
        expect((await fifo.metadata()).last_flush).not.toBeNull();
      });

      it('hybrid_summary folds the oldest summarize_oldest_percent into one system message', async () => {
        const summary = await fill('summary', 'k', 9);
        const all = (await summary.read()).messages;
        const result = await summary.flush();
        expect(result).toMatchObject({ success: true, summary_generated: true, actual_strategy: 'hybrid_summary' });
        const after = await consistent('summary', 'k');
        expect(after).toHaveLength(all.length - 4 + 1);
        expect(after[0]?.role).toBe('system');
        expect(after[0]?.content).toMatch(/^Summary of 4 earlier messages:\n- user: message number 0/);
        expect(await tokens([after[0] as MemoryMessage])).toBeLessThanOrEqual(60);
        expect(after.slice(1)).toEqual(all.slice(4));
        expect((await summary.health()).last_flush).toBeDefined();
      });

      it('hybrid_summary uses the summarizer the manager was given', async () => {
        const own = await createMemoryManager({ kv, project: 'summarizer', resources: RESOURCES, summarizer: { summarize: async (messages) => `they said ${messages.length} things` } });
        const instance = own.instance('summary', 'k');
        for (let i = 0; i < 9; i++) await instance.append([words(i)]);
        await instance.flush();
        expect((await instance.read()).messages[0]).toEqual({ role: 'system', content: 'they said 4 things' });
        await own.close();
      });

      it('lru keeps 60 % of max_messages; token_aware_lru half the token limit', async () => {
        const lru = await fill('lru', 'k', 9);
        const all = (await lru.read()).messages;
        expect(await lru.flush()).toMatchObject({ success: true, message_count: 6, actual_strategy: 'lru' });
        expect(await consistent('lru', 'k')).toEqual(all.slice(3));
        const tlru = await fill('tlru', 'k', 9);
        await tlru.flush();
        expect(await tokens(await consistent('tlru', 'k'))).toBeLessThanOrEqual(50);
      });

      it('the priority eviction policy evicts messages without a priority keyword first', async () => {
        const keep = manager.instance('keep', 'k');
        const important = user('remember: severe peanut allergy');
        await keep.append([important, ...Array.from({ length: 8 }, (_, i) => words(i))]);
        await keep.flush();
        const after = await consistent('keep', 'k');
        expect(after).toHaveLength(6);
        expect(after[0]).toEqual(important);
        expect(after.slice(1)).toEqual(Array.from({ length: 8 }, (_, i) => words(i)).slice(3));
      });

      it('a flush over a list holding corrupt items removes exactly the planned messages (and the corrupt ones among them)', async () => {
        const lru = manager.instance('lru', 'corrupt');
        const all = Array.from({ length: 9 }, (_, i) => words(i));
        await lru.append([all[0] as MemoryMessage]);
        await kv.rpush(lru.instanceKey, 'garbage 1');
        await lru.append(all.slice(1, 2));
        await kv.rpush(lru.instanceKey, 'garbage 2');
        await lru.append(all.slice(2));
        await kv.rpush(lru.instanceKey, 'garbage 3');
        expect(await lru.flush({ force: true })).toMatchObject({ success: true, message_count: 7 });
        const raws = await kv.lrange(lru.instanceKey, 0, -1);
        expect(raws.at(-1)).toBe('garbage 3');
        expect((await lru.read()).messages).toEqual(all.slice(3));
        expect((await lru.metadata()).token_count).toBe(await tokens(all.slice(3)));
      });

      it('force flushes under the threshold; strategy overrides the resource strategy', async () => {
        const chat = await fill('chat', 'force', 4);
        expect(await chat.flush({ force: true, strategy: 'lru' })).toMatchObject({ success: true, would_flush: true, actual_strategy: 'lru', message_count: 2 });
      });

      it('one flush at a time per key: a pending flag makes the second one answer without flushing', async () => {
        const fifo = await fill('fifo', 'busy', 9);
        await kv.set(`${fifo.instanceKey}:flush_pending`, '1', { px: 60_000 });
        expect(await fifo.flush()).toMatchObject({ success: false, would_flush: true, error: expect.stringMatching(/pending/) });
        expect(await fifo.count()).toBe(9);
        expect((await fifo.metadata()).flush_pending).toBe(true);
        await kv.del(`${fifo.instanceKey}:flush_pending`);
        expect(await fifo.flush()).toMatchObject({ success: true });
        expect((await fifo.metadata()).flush_pending).toBe(false);
      });

      it('appends landing while a flush summarizes are kept, and the counters stay exact', async () => {
        let entered!: () => void;
        let release!: () => void;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        const gate = new Promise<void>((resolve) => (release = resolve));
        const own = await createMemoryManager({
          kv, project: 'race', resources: RESOURCES,
          summarizer: { summarize: async (messages) => (entered(), await gate, `summary of ${messages.length}`) },
        });
        const instance = own.instance('summary', 'k');
        for (let i = 0; i < 9; i++) await instance.append([words(i)]);
        const flushing = instance.flush();
        await inside;
        const late = Array.from({ length: 20 }, (_, i) => user(`late ${i}`));
        for (const m of late) await instance.append([m]);
        release();
        expect(await flushing).toMatchObject({ success: true, summary_generated: true });
        const after = (await instance.read()).messages;
        expect(after).toEqual([{ role: 'system', content: 'summary of 4' }, ...Array.from({ length: 5 }, (_, i) => words(i + 4)), ...late]);
        expect(await instance.metadata()).toMatchObject({ message_count: after.length, token_count: await tokens(after) });
        await own.close();
      });

      it('a flush whose head was replaced meanwhile writes nothing stale: it flushes the new list', async () => {
        let calls = 0;
        let entered!: () => void;
        let release!: () => void;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        const gate = new Promise<void>((resolve) => (release = resolve));
        const own = await createMemoryManager({
          kv, project: 'race-replace', resources: RESOURCES,
          summarizer: { summarize: async (messages) => (++calls === 1 ? (entered(), await gate) : undefined, `summary ${calls} of ${messages.length}`) },
        });
        const instance = own.instance('summary', 'k');
        for (let i = 0; i < 9; i++) await instance.append([words(i)]);
        const flushing = instance.flush();
        await inside;
        const fresh = Array.from({ length: 10 }, (_, i) => user(`fresh ${i}`));
        await instance.write(fresh);
        release();
        expect(await flushing).toMatchObject({ success: true, summary_generated: true });
        const after = (await instance.read()).messages;
        expect(after).toEqual([{ role: 'system', content: 'summary 2 of 5' }, ...fresh.slice(5)]);
        expect(await instance.metadata()).toMatchObject({ message_count: 6, token_count: await tokens(after) });
        await own.close();
      });

      it('concurrent appends to one key lose nothing', async () => {
        const chat = manager.instance('chat', 'parallel');
        const all = Array.from({ length: 100 }, (_, i) => user(`p${i}`));
        await Promise.all(all.map((m) => chat.append([m])));
        const { messages } = await chat.read();
        expect(new Set(messages.map((m) => m.content))).toEqual(new Set(all.map((m) => m.content)));
        expect(await chat.metadata()).toMatchObject({ message_count: 100, token_count: await tokens(all) });
      });

      it('an append schedules a debounced flush check', async () => {
        const eager = await createMemoryManager({ kv, project: 'debounce', resources: RESOURCES, flushDebounceMs: 5, flushMaxWaitMs: 20 });
        const fifo = eager.instance('fifo', 'auto');
        for (let i = 0; i < 9; i++) await fifo.append([words(i)]);
        const deadline = Date.now() + 10_000;
        while ((await fifo.metadata()).last_flush === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        expect((await fifo.metadata()).last_flush).not.toBeNull();
        expect(await fifo.count()).toBeLessThan(9);
        await eager.close();
      });

      it('close runs the flush checks still scheduled', async () => {
        const lazy = await createMemoryManager({ kv, project: 'close', resources: RESOURCES, flushDebounceMs: 3_600_000, flushMaxWaitMs: 3_600_000 });
        const fifo = lazy.instance('fifo', 'auto');
        for (let i = 0; i < 9; i++) await fifo.append([words(i)]);
        expect((await fifo.metadata()).last_flush).toBeNull();
        await lazy.close();
        expect((await fifo.metadata()).last_flush).not.toBeNull();
      });
    });

    describe('privacy', () => {
      it('redacts before anything is persisted and never stores non-persistable roles', async () => {
        const secret = manager.instance('private', 'p');
        expect(await secret.append([user('my ssn is 123-45-6789 and PASSWORD=hunter2 ok'), { role: 'tool', content: 'card 4111' }, user('plain')])).toMatchObject({ appended: 2, total_count: 2 });
        expect((await secret.read()).messages).toEqual([user('my ssn is [gone] and [gone] ok'), user('plain')]);
        const raw = (await kv.lrange(secret.instanceKey, 0, -1)).join('\n');
        expect(raw).not.toContain('123-45-6789');
        expect(raw).not.toContain('hunter2');
        expect(raw).not.toContain('4111');
        await secret.write([user('call 987-65-4321')]);
        expect((await secret.read()).messages).toEqual([user('call [gone]')]);
      });
    });

    describe('bad input', () => {
      const rejects = async (promise: Promise<unknown>, field: string | RegExp) => {
        const error = await promise.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CompozyError);
        expect((error as CompozyError).code).toBe('INPUT_INVALID');
        expect(String((error as CompozyError).details?.field)).toMatch(field);
      };

      it('bad role, oversized message, too many messages, oversized payload: typed errors naming the field, nothing written', async () => {
        const chat = manager.instance('chat', 'bad');
        await rejects(chat.append([user('fine'), { role: 'robot', content: 'x' } as unknown as MemoryMessage]), 'messages[1].role');
        await rejects(chat.append([user('x'.repeat(10 * 1024 + 1))]), 'messages[0].content');
        await rejects(chat.append(Array.from({ length: 101 }, (_, i) => user(`m${i}`))), 'messages');
        await rejects(chat.append(Array.from({ length: 11 }, () => user('y'.repeat(10_000)))), 'messages');
        await rejects(chat.write([{ role: 'user', content: 42 } as unknown as MemoryMessage]), 'messages[0].content');
        expect(await chat.count()).toBe(0);
        expect(await kv.exists(chat.instanceKey, `${chat.instanceKey}:meta`)).toBe(0);
        expect(await chat.append([user('x'.repeat(10 * 1024))])).toMatchObject({ appended: 1 });
      });

      it('keys with control characters or over 255 characters, unknown memories', async () => {
        await rejects(Promise.resolve().then(() => manager.instance('chat', 'user\n1')), 'key');
        await rejects(Promise.resolve().then(() => manager.instance('chat', 'k'.repeat(256))), 'key');
        await rejects(Promise.resolve().then(() => manager.instance('chat', '')), 'key');
        expect(manager.instance('chat', 'k'.repeat(255)).key).toHaveLength(255);
        await rejects(Promise.resolve().then(() => manager.instance('bad ref!', 'k')), 'memory_ref');
        const missing = await Promise.resolve().then(() => manager.instance('nope', 'k')).catch((e: unknown) => e);
        expect((missing as CompozyError).code).toBe('MEMORY_NOT_FOUND');
        expect((missing as CompozyError).details).toMatchObject({ memory_ref: 'nope' });
      });

      it('clear needs confirm: true; with backup the messages are kept aside', async () => {
        const chat = manager.instance('chat', 'clear');
        await chat.append([user('a'), user('b')]);
        await rejects(chat.clear({ confirm: false }), 'confirm');
        expect(await chat.count()).toBe(2);
        expect(await chat.clear({ confirm: true, backup: true })).toEqual({ success: true, key: 'clear', messages_cleared: 2, backup_created: true });
        expect(await chat.count()).toBe(0);
        expect(await kv.llen(`${chat.instanceKey}:backup`)).toBe(2);
        expect(await manager.keys('chat', '*')).toEqual([]);
      });

      it('a corrupt stored message is skipped and reported, the rest is read', async () => {
        const chat = manager.instance('chat', 'corrupt');
        await chat.append([user('before')]);
        await kv.rpush(chat.instanceKey, 'not json {', JSON.stringify({ role: 'alien', content: 'x' }));
        await chat.append([user('after')]);
        const read = await chat.read();
        expect(read.messages).toEqual([user('before'), user('after')]);
        expect(read.skipped).toEqual([{ index: 1, reason: 'not JSON' }, { index: 2, reason: 'no valid role' }]);
        expect(warnings).toContainEqual({ kind: 'corrupt_message', ref: 'chat', key: 'corrupt', index: 1, reason: 'not JSON' });
        expect((await chat.readPaginated(1, 2)).skipped).toHaveLength(2);
        expect(await chat.history()).toEqual([user('before'), user('after')]);
        expect((await chat.stats()).role_distribution).toEqual({ user: 2 });
      });

      it('a KV that is down is MEMORY_UNAVAILABLE naming the backend; the circuit breaker then fails fast', async () => {
        const chat = manager.instance('chat', 'down');
        const fragile = manager.instance('fragile', 'down');
        await kv.close();
        const error = await chat.append([user('x')]).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CompozyError);
        expect((error as CompozyError).code).toBe('MEMORY_UNAVAILABLE');
        expect((error as CompozyError).message).toContain(kv.driver === 'redis' ? 'Redis' : 'SQLite');
        expect((error as CompozyError).details).toMatchObject({ backend: kv.driver });
        expect(await errorCode(chat.read())).toBe('MEMORY_UNAVAILABLE');
        expect(await errorCode(fragile.read())).toBe('MEMORY_UNAVAILABLE');
        expect(await errorCode(fragile.read())).toBe('MEMORY_UNAVAILABLE');
        const open = await fragile.read().catch((e: unknown) => e);
        expect((open as CompozyError).details).toMatchObject({ circuit_breaker: 'open' });
      });
    });

    describe('health and stats', () => {
      it('answer in the service shapes', async () => {
        const chat = manager.instance('chat', 'stats');
        const all = [user('a question'), { role: 'assistant', content: 'an answer' } as MemoryMessage, user('another question')];
        await chat.append(all);
        const t = await tokens(all);
        expect(await chat.health()).toEqual({ healthy: true, key: 'stats', token_count: t, message_count: 3, actual_strategy: 'simple_fifo', current_tokens: t });
        const stats = await chat.stats();
        expect(stats).toEqual({
          key: 'stats', message_count: 3, token_count: t, actual_strategy: 'simple_fifo', last_flush: null, avg_tokens_per_message: Math.round((t / 3) * 100) / 100,
          token_limit: 200, token_utilization: Math.round((t / 200) * 10_000) / 10_000, role_distribution: { user: 2, assistant: 1 },
        });
        expect((await chat.health({ includeStats: true })).stats).toEqual(stats);
      });
    });
  });
}
