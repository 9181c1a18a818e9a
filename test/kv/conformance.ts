import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delivery, Kv, Message, Subscription } from '../../src/kv/kv.js';
import { topicMatch } from '../../src/kv/topic.js';
import { errorCode } from '../helpers/errors.js';

export interface KvFactory {
  /** A fresh, empty store (its own file, :memory: database or key prefix). */
  open(): Promise<Kv>;
  /** A second handle on the same store, like another process would have. */
  reopen?(first: Kv): Promise<Kv>;
}


async function take(sub: Subscription, n: number, timeoutMs = 2000): Promise<Message[]> {
  const got: Message[] = [];
  const iterator = sub[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (got.length < n) {
    const next = await Promise.race([iterator.next(), sleep(Math.max(1, deadline - Date.now())).then(() => undefined)]);
    if (!next || next.done) break;
    got.push(next.value);
  }
  return got;
}

/** Every contract of src/kv/kv.ts, run against one adapter. */
export function defineKvConformance(name: string, factory: KvFactory): void {
  describe(`Kv conformance: ${name}`, () => {
    let kv: Kv;
    const extra: Kv[] = [];
    beforeEach(async () => {
      kv = await factory.open();
    });
    afterEach(async () => {
      for (const other of extra.splice(0)) await other.close();
      await kv.close();
    });

    describe('strings', () => {
      it('get/set round-trip text exactly, numbers in decimal form', async () => {
        expect(await kv.get('missing')).toBeNull();
        expect(await kv.set('a', 'hello')).toBe(true);
        expect(await kv.get('a')).toBe('hello');
        await kv.set('zero-padded', '05');
        expect(await kv.get('zero-padded')).toBe('05');
        await kv.set('n', 42);
        expect(await kv.get('n')).toBe('42');
        await kv.set('f', 1.5);
        expect(await kv.get('f')).toBe('1.5');
        await kv.set('big', 2n ** 62n);
        expect(await kv.get('big')).toBe('4611686018427387904');
        await kv.set('empty', '');
        expect(await kv.get('empty')).toBe('');
        await kv.set('unicode', 'héllo ✓ 🌦');
        expect(await kv.get('unicode')).toBe('héllo ✓ 🌦');
      });

      it('NX and XX', async () => {
        expect(await kv.set('k', '1', { xx: true })).toBe(false);
        expect(await kv.get('k')).toBeNull();
        expect(await kv.set('k', '1', { nx: true })).toBe(true);
        expect(await kv.set('k', '2', { nx: true })).toBe(false);
        expect(await kv.get('k')).toBe('1');
        expect(await kv.set('k', '3', { xx: true })).toBe(true);
        expect(await kv.get('k')).toBe('3');
      });

      it('NX treats an expired key as absent', async () => {
        await kv.set('k', 'old', { px: 30 });
        await sleep(60);
        expect(await kv.set('k', 'new', { nx: true })).toBe(true);
        expect(await kv.get('k')).toBe('new');
        expect(await kv.pttl('k')).toBe(-1);
      });

      it('SET clears a TTL unless keepTtl; PX/EX set one', async () => {
        await kv.set('k', 'v', { px: 10_000 });
        const pttl = await kv.pttl('k');
        expect(pttl).toBeGreaterThan(9000);
        expect(pttl).toBeLessThanOrEqual(10_000);
        await kv.set('k', 'v2', { keepTtl: true });
        expect(await kv.pttl('k')).toBeGreaterThan(9000);
        await kv.set('k', 'v3');
        expect(await kv.pttl('k')).toBe(-1);
        await kv.set('k', 'v4', { ex: 100 });
        expect(await kv.ttl('k')).toBe(100);
      });

      it('getSet returns the previous value', async () => {
        expect(await kv.getSet('k', 'a')).toBeNull();
        expect(await kv.getSet('k', 'b')).toBe('a');
        expect(await kv.get('k')).toBe('b');
      });

      it('getex reads and extends or removes the TTL', async () => {
        await kv.set('k', 'v');
        expect(await kv.getex('k', { px: 5000 })).toBe('v');
        expect(await kv.pttl('k')).toBeGreaterThan(4000);
        expect(await kv.getex('k', { persist: true })).toBe('v');
        expect(await kv.pttl('k')).toBe(-1);
        expect(await kv.getex('missing', { px: 100 })).toBeNull();
        expect(await kv.exists('missing')).toBe(0);
      });

      it('keys expire at millisecond precision, on read and for exists/ttl', async () => {
        await kv.set('short', 'v', { px: 80 });
        expect(await kv.get('short')).toBe('v');
        await sleep(140);
        expect(await kv.get('short')).toBeNull();
        expect(await kv.exists('short')).toBe(0);
        expect(await kv.pttl('short')).toBe(-2);
        expect(await kv.ttl('short')).toBe(-2);
        expect(await kv.keys('*')).toEqual([]);
      });

      it('mget, del, exists', async () => {
        await kv.set('a', '1');
        await kv.set('b', '2');
        await kv.rpush('list', 'x');
        expect(await kv.mget(['a', 'missing', 'b', 'list'])).toEqual(['1', null, '2', null]);
        expect(await kv.exists('a', 'b', 'missing', 'a')).toBe(3);
        expect(await kv.del('a', 'missing', 'list')).toBe(2);
        expect(await kv.exists('a', 'list')).toBe(0);
      });

      it('incrBy/decrBy count, keep the TTL and reject non-integers', async () => {
        expect(await kv.incrBy('c')).toBe(1);
        expect(await kv.incrBy('c', 10)).toBe(11);
        expect(await kv.decrBy('c', 4)).toBe(7);
        expect(await kv.decrBy('c')).toBe(6);
        await kv.pexpire('c', 10_000);
        await kv.incrBy('c', 1);
        expect(await kv.pttl('c')).toBeGreaterThan(9000);
        await kv.set('s', 'abc');
        expect(await errorCode(kv.incrBy('s', 1))).toBe('KV_NOT_INTEGER');
        expect(await kv.get('s')).toBe('abc');
        await kv.set('padded', '05');
        expect(await errorCode(kv.incrBy('padded', 1))).toBe('KV_NOT_INTEGER');
        expect(await errorCode(kv.incrBy('c', 1.5))).toBe('KV_INVALID_ARGUMENT');
      });

      it('counters beyond 2^53 work with bigint and are refused as lossy numbers', async () => {
        await kv.set('big', '9007199254740991');
        expect(await kv.incrBy('big', 2n)).toBe(9007199254740993n);
        expect(await kv.get('big')).toBe('9007199254740993');
        expect(await errorCode(kv.incrBy('big', 1))).toBe('KV_INVALID_ARGUMENT');
        expect(await kv.get('big')).toBe('9007199254740993');
        await kv.set('max', '9223372036854775807');
        expect(await errorCode(kv.incrBy('max', 1n))).toBe('KV_NOT_INTEGER');
        expect(await kv.decrBy('max', 1n)).toBe(9223372036854775806n);
      });

      it('expire, pexpire, persist, ttl and pttl follow Redis', async () => {
        expect(await kv.pttl('missing')).toBe(-2);
        expect(await kv.expire('missing', 10)).toBe(false);
        await kv.set('k', 'v');
        expect(await kv.ttl('k')).toBe(-1);
        expect(await kv.expire('k', 10)).toBe(true);
        expect(await kv.ttl('k')).toBe(10);
        expect(await kv.persist('k')).toBe(true);
        expect(await kv.persist('k')).toBe(false);
        expect(await kv.pexpire('k', 0)).toBe(true);
        expect(await kv.exists('k')).toBe(0);
      });

      it('type reports each kind', async () => {
        await kv.set('s', 'v');
        await kv.hset('h', { f: 'v' });
        await kv.rpush('l', 'v');
        expect(await Promise.all(['s', 'h', 'l', 'x'].map((k) => kv.type(k)))).toEqual(['string', 'hash', 'list', 'none']);
      });
    });

    describe('keys and scan use Redis glob rules', () => {
      const names = ['hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'h*llo', 'h?llo', 'h[a]llo', 'user:1', 'user:2', 'user:10', 'users', 'a/b/c', 'a\\b'];
      const cases: Array<[string, string[]]> = [
        ['h?llo', ['h*llo', 'h?llo', 'hallo', 'hello', 'hxllo']],
        ['h*llo', ['h*llo', 'h?llo', 'h[a]llo', 'hallo', 'heeeello', 'hello', 'hllo', 'hxllo']],
        ['h[ae]llo', ['hallo', 'hello']],
        ['h[^e]llo', ['h*llo', 'h?llo', 'hallo', 'hxllo']],
        ['h[a-b]llo', ['hallo']],
        ['h[b-a]llo', ['hallo']],
        ['h\\*llo', ['h*llo']],
        ['h\\?llo', ['h?llo']],
        ['h\\[a\\]llo', ['h[a]llo']],
        ['user:?', ['user:1', 'user:2']],
        ['user:*', ['user:1', 'user:10', 'user:2']],
        ['a*c', ['a/b/c']],
        ['a\\\\b', ['a\\b']],
        ['*', [...names].sort()],
        ['nothing*', []],
      ];
      beforeEach(async () => {
        for (const key of names) await kv.set(key, '1');
      });
      it.each(cases)('keys(%j)', async (pattern, expected) => {
        expect(await kv.keys(pattern)).toEqual(expected);
      });
      it.each(cases)('scan(%j) yields the same keys in pages', async (pattern, expected) => {
        const seen: string[] = [];
        for await (const key of kv.scan(pattern, { count: 2 })) seen.push(key);
        expect(seen.sort()).toEqual(expected);
      });
    });

    describe('hashes', () => {
      it('hset many fields, hget, hgetall, hlen, hdel removes the key when empty', async () => {
        expect(await kv.hset('h', { a: '1', b: 2, c: 'three' })).toBe(3);
        expect(await kv.hset('h', { a: 'one', d: '4' })).toBe(1);
        expect(await kv.hget('h', 'a')).toBe('one');
        expect(await kv.hget('h', 'missing')).toBeNull();
        expect(await kv.hgetall('h')).toEqual({ a: 'one', b: '2', c: 'three', d: '4' });
        expect(await kv.hlen('h')).toBe(4);
        expect(await kv.hdel('h', 'a', 'missing', 'b')).toBe(2);
        expect(await kv.hdel('h', 'c', 'd')).toBe(2);
        expect(await kv.exists('h')).toBe(0);
        expect(await kv.hgetall('h')).toEqual({});
      });

      it('hincrBy counts and keeps the TTL; HSET keeps the TTL', async () => {
        expect(await kv.hincrBy('h', 'n', 5)).toBe(5);
        expect(await kv.hincrBy('h', 'n', -7)).toBe(-2);
        await kv.pexpire('h', 10_000);
        await kv.hset('h', { x: '1' });
        await kv.hincrBy('h', 'n', 1);
        expect(await kv.pttl('h')).toBeGreaterThan(9000);
        await kv.hset('h', { s: 'abc' });
        expect(await errorCode(kv.hincrBy('h', 's', 1))).toBe('KV_NOT_INTEGER');
      });
    });

    describe('lists', () => {
      it('rpush, lpush, lrange with negative indexes, llen', async () => {
        expect(await kv.rpush('l', 'a', 'b', 'c')).toBe(3);
        expect(await kv.lpush('l', 'y', 'z')).toBe(5);
        expect(await kv.lrange('l', 0, -1)).toEqual(['z', 'y', 'a', 'b', 'c']);
        expect(await kv.lrange('l', -2, -1)).toEqual(['b', 'c']);
        expect(await kv.lrange('l', 1, 2)).toEqual(['y', 'a']);
        expect(await kv.lrange('l', -100, 100)).toEqual(['z', 'y', 'a', 'b', 'c']);
        expect(await kv.lrange('l', 3, 1)).toEqual([]);
        expect(await kv.lrange('l', 10, 20)).toEqual([]);
        expect(await kv.lrange('missing', 0, -1)).toEqual([]);
        expect(await kv.llen('l')).toBe(5);
      });

      it('operations issued without awaiting run in issue order: a TTL set right after the push that creates the key applies to it', async () => {
        const [length, expiring, value] = await Promise.all([kv.rpush('fresh', 'a'), kv.pexpire('fresh', 60_000), kv.lrange('fresh', 0, -1)]);
        expect([length, expiring, value]).toEqual([1, true, ['a']]);
        expect(await kv.pttl('fresh')).toBeGreaterThan(50_000);
      });

      it('ltrim keeps the range and an emptied list disappears', async () => {
        await kv.rpush('l', '1', '2', '3', '4', '5');
        await kv.ltrim('l', 1, -2);
        expect(await kv.lrange('l', 0, -1)).toEqual(['2', '3', '4']);
        await kv.ltrim('l', -1, -1);
        expect(await kv.lrange('l', 0, -1)).toEqual(['4']);
        await kv.ltrim('l', 5, 10);
        expect(await kv.exists('l')).toBe(0);
        expect(await kv.type('l')).toBe('none');
      });

      it('lpop and rpop; popping the last item removes the key', async () => {
        await kv.rpush('l', 'a', 'b', 'c');
        expect(await kv.lpop('l')).toBe('a');
        expect(await kv.rpop('l')).toBe('c');
        expect(await kv.rpop('l')).toBe('b');
        expect(await kv.rpop('l')).toBeNull();
        expect(await kv.exists('l')).toBe(0);
      });

      it('push keeps the TTL', async () => {
        await kv.rpush('l', 'a');
        await kv.pexpire('l', 10_000);
        await kv.lpush('l', 'b');
        expect(await kv.pttl('l')).toBeGreaterThan(9000);
      });

      it('appendAndTrim pushes, trims to the newest maxLen, counts and refreshes TTLs in one step', async () => {
        expect(await kv.appendAndTrim('mem', 'mem:meta', ['m1', 'm2'], { maxLen: 3, tokenDelta: 10, ttlMs: 60_000 })).toBe(2);
        expect(await kv.appendAndTrim('mem', 'mem:meta', ['m3', 'm4'], { maxLen: 3, tokenDelta: 5, ttlMs: 60_000 })).toBe(3);
        expect(await kv.lrange('mem', 0, -1)).toEqual(['m2', 'm3', 'm4']);
        expect(await kv.hgetall('mem:meta')).toEqual({ token_count: '15', message_count: '3' });
        expect(await kv.pttl('mem')).toBeGreaterThan(59_000);
        expect(await kv.pttl('mem:meta')).toBeGreaterThan(59_000);
        await kv.set('str', 'x');
        expect(await errorCode(kv.appendAndTrim('mem', 'str', ['m5'], { maxLen: 3, tokenDelta: 1 }))).toBe('KV_WRONG_TYPE');
        expect(await kv.lrange('mem', 0, -1)).toEqual(['m2', 'm3', 'm4']);
      });

      it('appendAndTrim with tokensField keeps token_count the sum over the kept items; fields land in the meta hash', async () => {
        const item = (id: string, t: number) => JSON.stringify({ id, t });
        await kv.appendAndTrim('mem', 'mem:meta', [item('a', 3), item('b', 4)], { maxLen: 3, tokenDelta: 7, tokensField: 't', fields: { key: 'user:1' } });
        await kv.appendAndTrim('mem', 'mem:meta', [item('c', 5), 'not json', item('d', 6)], { maxLen: 3, tokenDelta: 11, tokensField: 't' });
        expect(await kv.lrange('mem', 0, -1)).toEqual([item('c', 5), 'not json', item('d', 6)]);
        expect(await kv.hgetall('mem:meta')).toEqual({ token_count: '11', message_count: '3', key: 'user:1' });
        await kv.appendAndTrim('mem', 'mem:meta', [], { maxLen: 1, tokenDelta: 0, tokensField: 't' });
        expect(await kv.lrange('mem', 0, -1)).toEqual([item('d', 6)]);
        expect(await kv.hgetall('mem:meta')).toMatchObject({ token_count: '6', message_count: '1' });
        expect(await errorCode(kv.appendAndTrim('mem', 'mem:meta', ['x'], { maxLen: 3, tokenDelta: 1, fields: { token_count: 1 } }))).toBe('KV_INVALID_ARGUMENT');
      });

      it('appendAndTrim with pushes, pops and batches of every size against a model keeps the newest maxLen in order and token_count exact', async () => {
        let state = 7;
        const random = (n: number) => {
          state = (state * 1103515245 + 12345) % 2 ** 31;
          return state % n;
        };
        let list: string[] = [];
        let tokens = 0;
        const tokensOf = (item: string) => (JSON.parse(item) as { t: number }).t;
        for (let step = 0; step < 60; step++) {
          const roll = random(10);
          if (roll === 0) {
            const item = JSON.stringify({ id: `p${step}`, t: 100 });
            await kv.lpush('mem', item);
            list = [item, ...list];
          } else if (roll === 1) {
            expect(await kv.rpop('mem')).toBe(list.pop() ?? null);
          } else {
            const maxLen = 1 + random(6);
            const items = Array.from({ length: random(9) }, (_, i) => JSON.stringify({ id: `${step}.${i}`, t: 1 + random(5) }));
            const delta = items.reduce((sum, item) => sum + tokensOf(item), 0);
            list = [...list, ...items];
            tokens += delta;
            while (list.length > maxLen) tokens -= tokensOf(list.shift() as string);
            expect(await kv.appendAndTrim('mem', 'mem:meta', items, { maxLen, tokenDelta: delta, tokensField: 't', ttlMs: 60_000 })).toBe(list.length);
            expect(await kv.hget('mem:meta', 'token_count')).toBe(String(tokens));
          }
          expect(await kv.lrange('mem', 0, -1)).toEqual(list);
        }
      });

      it('appendAndTrim with ttlRefreshBelowMs re-applies the TTL only when less than that is left', async () => {
        await kv.appendAndTrim('mem', 'mem:meta', ['a'], { maxLen: 10, tokenDelta: 1, ttlMs: 60_000, ttlRefreshBelowMs: 30_000 });
        expect(await kv.pttl('mem')).toBeGreaterThan(59_000);
        await kv.pexpire('mem', 40_000);
        await kv.appendAndTrim('mem', 'mem:meta', ['b'], { maxLen: 10, tokenDelta: 1, ttlMs: 60_000, ttlRefreshBelowMs: 30_000 });
        expect(await kv.pttl('mem')).toBeLessThanOrEqual(40_000);
        await kv.pexpire('mem', 20_000);
        await kv.appendAndTrim('mem', 'mem:meta', ['c'], { maxLen: 10, tokenDelta: 1, ttlMs: 60_000, ttlRefreshBelowMs: 30_000 });
        expect(await kv.pttl('mem')).toBeGreaterThan(59_000);
        expect(await kv.pttl('mem:meta')).toBeGreaterThan(59_000);
        await kv.persist('mem');
        await kv.appendAndTrim('mem', 'mem:meta', ['d'], { maxLen: 10, tokenDelta: 1, ttlMs: 60_000, ttlRefreshBelowMs: 30_000 });
        expect(await kv.pttl('mem')).toBeGreaterThan(59_000);
      });

      it('replaceList swaps the whole list and sets the counters; without ttlMs the list keeps its TTL', async () => {
        await kv.appendAndTrim('mem', 'mem:meta', ['a', 'b', 'c'], { maxLen: 10, tokenDelta: 30, ttlMs: 50_000, fields: { key: 'k' } });
        expect(await kv.replaceList('mem', 'mem:meta', ['x', 'y'], { tokenCount: 8 })).toBe(2);
        expect(await kv.lrange('mem', 0, -1)).toEqual(['x', 'y']);
        expect(await kv.hgetall('mem:meta')).toEqual({ token_count: '8', message_count: '2', key: 'k' });
        expect(await kv.pttl('mem')).toBeGreaterThan(40_000);
        expect(await kv.pttl('mem')).toBeLessThanOrEqual(50_000);
        expect(await kv.replaceList('mem', 'mem:meta', ['z'], { tokenCount: 2, ttlMs: 90_000, fields: { last_flush: 't1' } })).toBe(1);
        expect(await kv.pttl('mem')).toBeGreaterThan(89_000);
        expect(await kv.pttl('mem:meta')).toBeGreaterThan(89_000);
        expect(await kv.hgetall('mem:meta')).toEqual({ token_count: '2', message_count: '1', key: 'k', last_flush: 't1' });
        expect(await kv.replaceList('mem', 'mem:meta', [], { tokenCount: 0 })).toBe(0);
        expect(await kv.exists('mem')).toBe(0);
        expect(await kv.hgetall('mem:meta')).toMatchObject({ token_count: '0', message_count: '0' });
        expect(await kv.replaceList('fresh', 'fresh:meta', ['1'], { tokenCount: 1 })).toBe(1);
        expect(await kv.pttl('fresh')).toBe(-1);
        await kv.set('str', 'x');
        expect(await errorCode(kv.replaceList('str', 'mem:meta', ['q'], { tokenCount: 1 }))).toBe('KV_WRONG_TYPE');
        expect(await kv.get('str')).toBe('x');
      });

      it('spliceHead replaces the head only while it is the one the caller read', async () => {
        await kv.appendAndTrim('mem', 'mem:meta', ['a', 'b', 'c', 'd'], { maxLen: 10, tokenDelta: 40, ttlMs: 50_000 });
        expect(await kv.spliceHead('mem', 'mem:meta', { expectFirst: 'a', removeCount: 3, items: ['S1', 'S2'], tokenDelta: -25, fields: { last_flush: 't' } })).toBe(3);
        expect(await kv.lrange('mem', 0, -1)).toEqual(['S1', 'S2', 'd']);
        expect(await kv.hgetall('mem:meta')).toEqual({ token_count: '15', message_count: '3', last_flush: 't' });
        expect(await kv.pttl('mem')).toBeGreaterThan(40_000);
        expect(await kv.spliceHead('mem', 'mem:meta', { expectFirst: 'a', removeCount: 1, items: [], tokenDelta: -1 })).toBeNull();
        expect(await kv.lrange('mem', 0, -1)).toEqual(['S1', 'S2', 'd']);
        expect(await kv.hget('mem:meta', 'token_count')).toBe('15');
        expect(await kv.spliceHead('mem', 'mem:meta', { expectFirst: 'S1', removeCount: 1, items: [], tokenDelta: -5 })).toBe(2);
        expect(await kv.rpush('mem', 'e')).toBe(3);
        expect(await kv.lrange('mem', 0, -1)).toEqual(['S2', 'd', 'e']);
        expect(await kv.spliceHead('mem', 'mem:meta', { expectFirst: 'S2', removeCount: 99, items: [], tokenDelta: -10 })).toBe(0);
        expect(await kv.exists('mem')).toBe(0);
        expect(await kv.hgetall('mem:meta')).toMatchObject({ token_count: '0', message_count: '0' });
        expect(await kv.spliceHead('missing', 'missing:meta', { expectFirst: 'a', removeCount: 1, items: ['x'], tokenDelta: 0 })).toBeNull();
        expect(await kv.exists('missing', 'missing:meta')).toBe(0);
      });
    });

    describe('bad input', () => {
      it('wrong-type operations fail like WRONGTYPE and change nothing', async () => {
        await kv.set('s', 'v');
        await kv.rpush('l', 'x');
        expect(await errorCode(kv.lpush('s', 'x'))).toBe('KV_WRONG_TYPE');
        expect(await errorCode(kv.hset('s', { f: 'v' }))).toBe('KV_WRONG_TYPE');
        expect(await errorCode(kv.get('l'))).toBe('KV_WRONG_TYPE');
        expect(await errorCode(kv.hgetall('l'))).toBe('KV_WRONG_TYPE');
        expect(await errorCode(kv.lrange('s', 0, -1))).toBe('KV_WRONG_TYPE');
        expect(await kv.get('s')).toBe('v');
        expect(await kv.set('l', 'now a string')).toBe(true);
        expect(await kv.get('l')).toBe('now a string');
      });

      it('keys and values of the wrong type are refused, nothing stored', async () => {
        const anyKv = kv as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
        expect(await errorCode(anyKv.set?.call(kv, 42, 'v') as Promise<unknown>)).toBe('KV_INVALID_ARGUMENT');
        expect(await errorCode(anyKv.set?.call(kv, 'k', { an: 'object' }) as Promise<unknown>)).toBe('KV_INVALID_ARGUMENT');
        expect(await errorCode(anyKv.set?.call(kv, 'k', null) as Promise<unknown>)).toBe('KV_INVALID_ARGUMENT');
        expect(await errorCode(kv.set('k', Number.NaN))).toBe('KV_INVALID_ARGUMENT');
        expect(await errorCode(kv.set('k', 'v', { px: -5 }))).toBe('KV_INVALID_ARGUMENT');
        expect(await errorCode(kv.set('k', 'v', { nx: true, xx: true }))).toBe('KV_INVALID_ARGUMENT');
        expect(await errorCode(kv.publish('c', undefined))).toBe('KV_INVALID_ARGUMENT');
        expect(await kv.exists('k')).toBe(0);
      });

      it('values over 16 MiB are refused with KV_VALUE_TOO_LARGE', async () => {
        const huge = 'x'.repeat(16 * 1024 * 1024 + 1);
        expect(await errorCode(kv.set('k', huge))).toBe('KV_VALUE_TOO_LARGE');
        expect(await errorCode(kv.rpush('l', 'ok', huge))).toBe('KV_VALUE_TOO_LARGE');
        expect(await errorCode(kv.hset('h', { f: huge }))).toBe('KV_VALUE_TOO_LARGE');
        expect(await kv.exists('k', 'l', 'h')).toBe(0);
      });
    });

    describe('locks', () => {
      it('one holder at a time; release frees it; fencing tokens strictly increase', async () => {
        const first = await kv.acquire('res', 5000);
        expect(await kv.tryAcquire('res', 5000)).toBeNull();
        expect(await errorCode(kv.acquire('res', 5000, { waitMs: 120, retryMs: 20 }))).toBe('LOCK_TIMEOUT');
        await first.release();
        const second = await kv.acquire('res', 5000);
        expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
        expect(second.token).not.toBe(first.token);
        await second.release();
        const other = await kv.acquire('other-resource', 5000);
        expect(other.fencingToken).toBeGreaterThan(0n);
        await other.release();
      });

      it('an expired lease can be taken by another holder, and the old holder can neither refresh nor release', async () => {
        const first = await kv.acquire('res', 60);
        await sleep(100);
        const second = await kv.acquire('res', 5000);
        expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
        expect(await errorCode(first.refresh())).toBe('LOCK_NOT_HELD');
        expect(await errorCode(first.release())).toBe('LOCK_NOT_OWNED');
        await second.release();
        expect(await errorCode(second.release())).toBe('LOCK_NOT_HELD');
      });

      it('waits for a holder that releases within waitMs', async () => {
        const first = await kv.acquire('res', 5000);
        setTimeout(() => void first.release(), 80);
        const second = await kv.acquire('res', 5000, { waitMs: 2000, retryMs: 10 });
        expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
        await second.release();
      });

      it('refresh and autoRefresh keep the lease past its TTL', async () => {
        const lock = await kv.acquire('res', 150);
        const stop = lock.autoRefresh();
        await sleep(400);
        expect(await kv.tryAcquire('res', 1000)).toBeNull();
        stop();
        await lock.refresh(2000);
        await lock.release();
      });
    });

    describe('pub/sub', () => {
      it('delivers to channel subscribers in order and counts receivers', async () => {
        const sub = await kv.subscribe(['news', 'alerts']);
        const other = await kv.subscribe('news');
        expect(await kv.publish('news', { n: 1 })).toBe(2);
        expect(await kv.publish('alerts', 'second')).toBe(1);
        expect(await kv.publish('nobody', 3)).toBe(0);
        expect(await take(sub, 2)).toEqual([
          { channel: 'news', data: { n: 1 } },
          { channel: 'alerts', data: 'second' },
        ]);
        expect(await take(other, 1)).toEqual([{ channel: 'news', data: { n: 1 } }]);
        await sub.unsubscribe();
        await other.unsubscribe();
        expect(await kv.publish('news', 'after')).toBe(0);
      });

      it('psubscribe matches glob patterns, once per matching pattern', async () => {
        const sub = await kv.psubscribe(['task.*', 'task.[0-9]*']);
        expect(await kv.publish('task.7', 'x')).toBe(2);
        expect(await kv.publish('other', 'y')).toBe(0);
        const got = await take(sub, 2);
        expect(got.map((m) => m.pattern).sort()).toEqual(['task.*', 'task.[0-9]*']);
        expect(got.every((m) => m.channel === 'task.7' && m.data === 'x')).toBe(true);
        await sub.unsubscribe();
      });

      it('a subscriber hears only what is published after it subscribed', async () => {
        await kv.publish('c', 'before');
        const sub = await kv.subscribe('c');
        await kv.publish('c', 'after');
        expect(await take(sub, 1)).toEqual([{ channel: 'c', data: 'after' }]);
        await sub.unsubscribe();
      });

      it('a slow reader overflows its buffer and the loss is counted, not hidden', async () => {
        const sub = await kv.subscribe('flood', { bufferSize: 3 });
        for (let i = 0; i < 8; i++) await kv.publish('flood', i);
        await sleep(100);
        expect((await take(sub, 3)).map((m) => m.data)).toEqual([0, 1, 2]);
        expect(sub.overflow).toBe(5);
        await sub.unsubscribe();
      });

      if (factory.reopen) {
        it('delivers between two handles on the same store', async () => {
          const second = await factory.reopen!(kv);
          extra.push(second);
          const sub = await second.psubscribe('events.*');
          expect(await kv.publish('events.created', { id: 1 })).toBe(1);
          expect(await take(sub, 1)).toEqual([{ channel: 'events.created', pattern: 'events.*', data: { id: 1 } }]);
          await sub.unsubscribe();
        });
      }
    });

    describe('broker', () => {
      /** Collects deliveries until `n` arrived, settling each with `settle`. */
      const errors: string[] = [];
      beforeEach(() => {
        errors.length = 0;
      });

      async function collect(queue: string, n: number, settle: (d: Delivery) => Promise<void> = (d) => d.ack(), prefetch = 1): Promise<Delivery[]> {
        const got: Delivery[] = [];
        let done!: () => void;
        const finished = new Promise<void>((resolve) => (done = resolve));
        const consumer = await kv.broker.consume(
          queue,
          async (delivery) => {
            got.push(delivery);
            try {
              await settle(delivery);
            } finally {
              if (got.length >= n) done();
            }
          },
          { prefetch, onError: (error) => errors.push(error.message) },
        );
        await Promise.race([finished, sleep(5000)]);
        await consumer.cancel();
        return got;
      }

      it('routes by exchange type: fanout, direct, topic', async () => {
        await kv.broker.declareExchange('fan', 'fanout');
        await kv.broker.declareExchange('dir', 'direct');
        await kv.broker.declareExchange('top', 'topic');
        for (const q of ['q1', 'q2', 'q3']) await kv.broker.declareQueue(q);
        await kv.broker.bind('q1', 'fan');
        await kv.broker.bind('q2', 'fan');
        await kv.broker.bind('q1', 'dir', 'created');
        await kv.broker.bind('q3', 'top', 'workflow.*.done');
        await kv.broker.bind('q2', 'top', 'workflow.#');
        expect(await kv.broker.publish('fan', 'ignored', 'f')).toBe(2);
        expect(await kv.broker.publish('dir', 'created', 'd')).toBe(1);
        expect(await kv.broker.publish('dir', 'deleted', 'x')).toBe(0);
        expect(await kv.broker.publish('top', 'workflow.w1.done', 't1')).toBe(2);
        expect(await kv.broker.publish('top', 'workflow', 't2')).toBe(1);
        expect((await collect('q1', 2)).map((d) => d.body)).toEqual(['f', 'd']);
        expect((await collect('q2', 3)).map((d) => d.body)).toEqual(['f', 't1', 't2']);
        const q3 = await collect('q3', 1);
        expect(q3.map((d) => [d.body, d.routingKey, d.attempt, d.queue])).toEqual([['t1', 'workflow.w1.done', 1, 'q3']]);
        expect((await kv.broker.stats('q1')).messages).toBe(0);
      });

      it('nack with requeue redelivers with the next attempt number; a handler that throws does the same', async () => {
        await kv.broker.declareExchange('ex', 'direct');
        await kv.broker.declareQueue('work', { maxAttempts: 5 });
        await kv.broker.bind('work', 'ex', 'job');
        await kv.broker.publish('ex', 'job', { n: 1 });
        let calls = 0;
        const got = await collect('work', 3, async (d) => {
          calls++;
          if (calls === 1) await d.nack({ requeue: true });
          else if (calls === 2) throw new Error('handler failed');
          else await d.ack();
        });
        expect(got.map((d) => d.attempt)).toEqual([1, 2, 3]);
        expect(errors).toEqual(['handler failed']);
        expect(got.every((d) => JSON.stringify(d.body) === '{"n":1}')).toBe(true);
        expect((await kv.broker.stats('work')).messages).toBe(0);
      });

      it('dead-letters after maxAttempts, or at once on nack without requeue; drops are counted without a dead-letter queue', async () => {
        await kv.broker.declareExchange('ex', 'fanout');
        await kv.broker.declareQueue('work', { maxAttempts: 2, deadLetter: 'dead' });
        await kv.broker.declareQueue('nodlq', { maxAttempts: 1 });
        await kv.broker.bind('work', 'ex');
        await kv.broker.bind('nodlq', 'ex');
        await kv.broker.publish('ex', 'k', 'poison');
        const attempts = await collect('work', 2, (d) => d.nack());
        expect(attempts.map((d) => d.attempt)).toEqual([1, 2]);
        const dead = await collect('dead', 1);
        expect(dead.map((d) => [d.body, d.routingKey, d.attempt])).toEqual([['poison', 'k', 1]]);
        await collect('nodlq', 1, (d) => d.nack({ requeue: false }));
        expect(await kv.broker.stats('nodlq')).toEqual({ messages: 0, dropped: 1 });
        expect((await kv.broker.stats('work')).messages).toBe(0);
      });

      it('an unsettled delivery is redelivered after the visibility timeout and the late ack is refused', async () => {
        await kv.broker.declareExchange('ex', 'fanout');
        await kv.broker.declareQueue('slow', { visibilityTimeoutMs: 150 });
        await kv.broker.bind('slow', 'ex');
        await kv.broker.publish('ex', '', 'm');
        let first: Delivery | undefined;
        let unblock!: () => void;
        const blocked = new Promise<void>((resolve) => (unblock = resolve));
        const stuck = await kv.broker.consume('slow', async (d) => {
          first = d;
          await blocked;
        });
        await sleep(100);
        expect(first?.attempt).toBe(1);
        const again = await collect('slow', 1);
        expect(again.map((d) => [d.body, d.attempt])).toEqual([['m', 2]]);
        expect(await errorCode(first!.ack())).toBe('BROKER_LEASE_LOST');
        unblock();
        await stuck.cancel();
        expect((await kv.broker.stats('slow')).messages).toBe(0);
      });

      it('prefetch bounds the handlers running at once', async () => {
        await kv.broker.declareExchange('ex', 'fanout');
        await kv.broker.declareQueue('par');
        await kv.broker.bind('par', 'ex');
        for (let i = 0; i < 6; i++) await kv.broker.publish('ex', '', i);
        let running = 0;
        let peak = 0;
        const got = await collect(
          'par',
          6,
          async (d) => {
            running++;
            peak = Math.max(peak, running);
            await sleep(30);
            running--;
            await d.ack();
          },
          3,
        );
        expect(got.map((d) => d.body).sort()).toEqual([0, 1, 2, 3, 4, 5]);
        expect(peak).toBe(3);
      });

      it('bad declarations and unknown names are typed errors', async () => {
        await kv.broker.declareExchange('ex', 'topic');
        expect(await errorCode(kv.broker.declareExchange('ex', 'fanout'))).toBe('KV_INVALID_ARGUMENT');
        expect(await errorCode(kv.broker.declareExchange('bad', 'headers' as 'topic'))).toBe('KV_INVALID_ARGUMENT');
        expect(await errorCode(kv.broker.publish('nope', 'k', 1))).toBe('BROKER_NOT_FOUND');
        expect(await errorCode(kv.broker.bind('nope', 'ex', 'k'))).toBe('BROKER_NOT_FOUND');
        expect(await errorCode(kv.broker.consume('nope', async () => undefined))).toBe('BROKER_NOT_FOUND');
        expect(await errorCode(kv.broker.declareQueue('q', { maxAttempts: 0 }))).toBe('KV_INVALID_ARGUMENT');
      });
    });

    describe('lifecycle', () => {
      it('ping and info', async () => {
        await kv.ping();
        await kv.set('a', '1');
        await kv.hset('h', { f: '1' });
        const info = await kv.info();
        expect(info.driver).toBe(kv.driver);
        expect(info.keys).toBe(2);
        expect(info.location.length).toBeGreaterThan(0);
      });

      it('a closed store refuses work with KV_CLOSED', async () => {
        const other = await factory.open();
        await other.close();
        expect(await errorCode(other.get('k'))).toBe('KV_CLOSED');
      });
    });
  });
}

describe('AMQP topic matching', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.x.c', false],
    ['a.#', 'a', true],
    ['a.#', 'a.b.c', true],
    ['#', 'anything.at.all', true],
    ['#.c', 'c', true],
    ['#.c', 'a.b.c', true],
    ['a.#.c', 'a.c', true],
    ['a.#.c', 'a.x.y.c', true],
    ['*.b', 'b', false],
    ['*', '', true],
    ['a.*', 'a.', true],
    ['a.b', 'a.b.c', false],
  ] as const)('%s vs %s → %s', (binding, key, expected) => {
    expect(topicMatch(binding, key)).toBe(expected);
  });
});
