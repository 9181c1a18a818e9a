import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { MIGRATIONS } from '../../src/kv/sqlite/schema.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { errorCode } from '../helpers/errors.js';
import { tempDir } from '../helpers/fake-bin.js';
import { defineKvConformance } from './conformance.js';

const files = new WeakMap<object, string>();

defineKvConformance('sqlite file', {
  async open() {
    const path = join(tempDir('kv'), 'kv.db');
    const kv = SqliteKv.open(path);
    files.set(kv, path);
    return kv;
  },
  async reopen(first) {
    return SqliteKv.open(files.get(first) as string);
  },
});

defineKvConformance('sqlite :memory:', {
  async open() {
    return SqliteKv.open(':memory:');
  },
});

describe('SqliteKv files', () => {
  it('a corrupt file is reported by name and left untouched', () => {
    const path = join(tempDir('kv-corrupt'), 'kv.db');
    const garbage = 'this is not an SQLite database, but it is somebody\'s data\n'.repeat(200);
    writeFileSync(path, garbage);
    let error: unknown;
    try {
      SqliteKv.open(path);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CompozyError);
    expect((error as CompozyError).code).toBe('KV_OPEN_FAILED');
    expect((error as CompozyError).message).toContain(path);
    expect(readFileSync(path, 'utf8')).toBe(garbage);
  });

  it('a file from a newer schema is refused rather than downgraded', async () => {
    const path = join(tempDir('kv-newer'), 'kv.db');
    const kv = SqliteKv.open(path);
    await kv.set('keep', 'me');
    await kv.close();
    const { DatabaseSync } = await import('node:sqlite');
    const raw = new DatabaseSync(path);
    raw.exec('PRAGMA user_version = 99');
    raw.close();
    expect(() => SqliteKv.open(path)).toThrow(/schema version 99 is newer/);
  });

  it('keeps data across close and reopen', async () => {
    const path = join(tempDir('kv-reopen'), 'kv.db');
    const kv = SqliteKv.open(path);
    await kv.set('s', 'v', { px: 60_000 });
    await kv.rpush('l', '1', '2');
    await kv.close();
    const again = SqliteKv.open(path);
    expect(await again.get('s')).toBe('v');
    expect(await again.pttl('s')).toBeGreaterThan(50_000);
    expect(await again.lrange('l', 0, -1)).toEqual(['1', '2']);
    await again.close();
  });

  it("another connection's commit wakes a subscriber through the log's change event, not the poll", async () => {
    const path = join(tempDir('kv-events'), 'kv.db');
    // A poll that would take an hour: only the write-ahead log's change event can deliver in time.
    const listening = SqliteKv.open(path, { pollMs: 3_600_000 });
    const other = SqliteKv.open(path);
    const sub = await listening.subscribe('news');
    const iterator = sub[Symbol.asyncIterator]();
    await other.publish('news', { n: 1 });
    const first = await iterator.next();
    expect(first.value).toMatchObject({ channel: 'news', data: { n: 1 } });
    await sub.unsubscribe();
    await other.close();
    await listening.close();
  });

  it('the sweep removes expired keys of every type', async () => {
    const kv = SqliteKv.open(':memory:', { sweepIntervalMs: 0 });
    await kv.set('s', 'v', { px: 20 });
    await kv.rpush('l', 'a');
    await kv.pexpire('l', 20);
    await kv.hset('h', { f: 'v' });
    await kv.pexpire('h', 20);
    await kv.set('stays', 'v');
    await new Promise((r) => setTimeout(r, 50));
    kv.sweep();
    expect((await kv.info()).keys).toBe(1);
    expect(await kv.keys('*')).toEqual(['stays']);
    await kv.close();
  });
});

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function openError(open: () => unknown): Promise<CompozyError> {
  try {
    await open();
  } catch (error) {
    if (error instanceof CompozyError) return error;
    throw error;
  }
  throw new Error('it opened');
}

/** A file the real adapter wrote, with everything after its first page overwritten by garbage. */
async function headerValidGarbage(path: string): Promise<void> {
  const kv = SqliteKv.open(path);
  for (let i = 0; i < 300; i++) await kv.set(`key:${i}`, 'x'.repeat(200));
  await kv.close();
  const bytes = readFileSync(path);
  writeFileSync(path, Buffer.concat([bytes.subarray(0, 4096), randomBytes(bytes.length - 4096)]));
}

/** Counts event-loop turns while `during` runs: a synchronous busy wait would leave it at zero. */
async function loopTurns<T>(during: () => Promise<T>): Promise<{ turns: number; result: PromiseSettledResult<T> }> {
  let turns = 0;
  const ticker = setInterval(() => turns++, 5);
  const [result] = await Promise.allSettled([during()]);
  clearInterval(ticker);
  return { turns, result: result as PromiseSettledResult<T> };
}

describe('SqliteKv expiry sweep', () => {
  const walFrames = (raw: DatabaseSync) => (raw.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number }).log;

  it('a TTL moved later, moved earlier or removed is swept by the expiry it has now', async () => {
    const path = join(tempDir('kv-sweep'), 'kv.db');
    const kv = SqliteKv.open(path, { sweepIntervalMs: 0 });
    await kv.set('extended', 'v', { px: 30 });
    await kv.pexpire('extended', 60_000);
    await kv.set('shortened', 'v', { px: 60_000 });
    await kv.pexpire('shortened', 30);
    await kv.set('persisted', 'v', { px: 30 });
    await kv.persist('persisted');
    await kv.appendAndTrim('chat', 'chat:meta', ['m1'], { maxLen: 10, tokenDelta: 1, ttlMs: 30 });
    await kv.appendAndTrim('chat', 'chat:meta', ['m2'], { maxLen: 10, tokenDelta: 1, ttlMs: 60_000 });
    await kv.set('expires', 'v', { px: 30 });
    await sleep(60);
    kv.sweep();
    const raw = new DatabaseSync(path, { readOnly: true });
    const rows = raw.prepare('SELECT key, expires_at, sweep_at FROM kv_keys ORDER BY key').all() as Array<{ key: string; expires_at: number | null; sweep_at: number | null }>;
    raw.close();
    expect(rows.map((row) => row.key)).toEqual(['chat', 'chat:meta', 'extended', 'persisted']);
    // What the sweep found due but still live waits until its expiry now; a key without one is not looked at again.
    for (const row of rows) expect(row.sweep_at).toBe(row.expires_at);
    expect(await kv.lrange('chat', 0, -1)).toEqual(['m1', 'm2']);
    await kv.close();
  });

  it('refreshing a TTL to a later time writes the key row alone, not an index page too', async () => {
    const path = join(tempDir('kv-sweep-pages'), 'kv.db');
    const kv = SqliteKv.open(path, { sweepIntervalMs: 0 });
    await kv.set('cached', 'v', { px: 60_000 });
    const raw = new DatabaseSync(path);
    raw.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
    await kv.pexpire('cached', 120_000);
    expect(walFrames(raw)).toBe(1);
    raw.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
    // Earlier than where the sweep looks for it: the index entry moves too.
    await kv.pexpire('cached', 1_000);
    expect(walFrames(raw)).toBe(2);
    raw.close();
    await kv.close();
  });

  it('a file of the previous schema is migrated, and its expiring keys are swept as before', async () => {
    const path = join(tempDir('kv-sweep-migrate'), 'kv.db');
    const old = new DatabaseSync(path);
    old.exec('PRAGMA journal_mode = WAL');
    for (const migration of MIGRATIONS.slice(0, 2)) old.exec(migration);
    old.exec('PRAGMA user_version = 2');
    const insert = old.prepare("INSERT INTO kv_keys (key, type, value, expires_at) VALUES (?, 'string', 'v', ?)");
    insert.run('gone', Date.now() - 1_000);
    insert.run('live', Date.now() + 60_000);
    insert.run('forever', null);
    old.close();
    const kv = SqliteKv.open(path, { sweepIntervalMs: 0 });
    kv.sweep();
    expect((await kv.keys('*')).sort()).toEqual(['forever', 'live']);
    expect(await kv.pttl('live')).toBeGreaterThan(50_000);
    await kv.close();
    const raw = new DatabaseSync(path, { readOnly: true });
    expect((raw.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(MIGRATIONS.length);
    raw.close();
  });
});

describe('SqliteKv storage integrity', () => {
  it('a kv.db that existed and is now zero bytes is refused by name and never re-created over', async () => {
    const path = join(tempDir('kv-empty'), 'kv.db');
    writeFileSync(path, '');
    const error = await openError(() => SqliteKv.open(path));
    expect(error.code).toBe('KV_OPEN_FAILED');
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/empty \(0 bytes\)/);
    expect(statSync(path).size).toBe(0);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('a file with a valid header and garbage pages fails its check and is left byte-identical', async () => {
    const path = join(tempDir('kv-garbage'), 'kv.db');
    await headerValidGarbage(path);
    const before = sha(path);
    const error = await openError(() => SqliteKv.open(path));
    expect(error.code).toBe('KV_OPEN_FAILED');
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/integrity check/);
    expect(sha(path)).toBe(before);
    expect(existsSync(`${path}-wal`) || existsSync(`${path}-shm`)).toBe(false);
  });

  it('only a missing file is created; a write-ahead log left without its file is refused', async () => {
    const dir = tempDir('kv-missing');
    const kv = SqliteKv.open(join(dir, 'kv.db'));
    await kv.set('a', '1');
    await kv.close();
    expect(readdirSync(dir).sort()).toEqual(['kv.db']);
    writeFileSync(join(dir, 'other.db-wal'), 'frames of a deleted database');
    const error = await openError(() => SqliteKv.open(join(dir, 'other.db')));
    expect(error.code).toBe('KV_OPEN_FAILED');
    expect(error.message).toMatch(/write-ahead log/);
    expect(existsSync(join(dir, 'other.db'))).toBe(false);
  });

  it('a write lock held by another connection: writes wait without blocking the event loop, fail with KV_UNAVAILABLE, health degrades, then recovers', async () => {
    const path = join(tempDir('kv-locked'), 'kv.db');
    const kv = SqliteKv.open(path, { busyTimeoutMs: 300, sweepIntervalMs: 0 });
    await kv.set('before', '1');
    const other = new DatabaseSync(path);
    other.exec('BEGIN EXCLUSIVE');
    const { turns, result } = await loopTurns(() => kv.set('during', '2'));
    expect(turns).toBeGreaterThan(10);
    expect(result.status).toBe('rejected');
    const error = (result as PromiseRejectedResult).reason as CompozyError;
    expect(error.code).toBe('KV_UNAVAILABLE');
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/locked by another process/);
    expect(await kv.get('before')).toBe('1');
    expect((await kv.info()).degraded?.code).toBe('KV_UNAVAILABLE');
    other.exec('ROLLBACK');
    other.close();
    await sleep(150);
    expect((await kv.info()).degraded).toBeUndefined();
    expect(await kv.set('after', '3')).toBe(true);
    expect(await kv.get('during')).toBeNull();
    await kv.close();
  });

  it('a write that waited for a lock goes through, once, when the lock is released', async () => {
    const path = join(tempDir('kv-released'), 'kv.db');
    const kv = SqliteKv.open(path, { busyTimeoutMs: 5000, sweepIntervalMs: 0 });
    const other = new DatabaseSync(path);
    other.exec('BEGIN EXCLUSIVE');
    // The lock is released from a timer after ten turns of the event loop: the writes can only go
    // through if waiting for the lock left the loop running (a blocking wait would time out first).
    let turns = 0;
    const ticker = setInterval(() => {
      if (++turns === 10) other.exec('COMMIT');
    }, 5);
    const [result] = await Promise.allSettled([Promise.all([kv.incrBy('n', 1), kv.incrBy('n', 1), kv.rpush('l', 'a', 'b')])]);
    clearInterval(ticker);
    other.close();
    expect(result.status).toBe('fulfilled');
    expect(await kv.get('n')).toBe('2');
    expect(await kv.lrange('l', 0, -1)).toEqual(['a', 'b']);
    await kv.close();
  });

  it('the expiry sweep, subscriber heartbeats and broker consumers survive a locked file without throwing from a timer', async () => {
    const path = join(tempDir('kv-timers'), 'kv.db');
    const kv = SqliteKv.open(path, { busyTimeoutMs: 200, sweepIntervalMs: 20 });
    await kv.set('soon', 'v', { px: 10 });
    const sub = await kv.subscribe('news');
    await kv.broker.declareExchange('jobs', 'fanout');
    await kv.broker.declareQueue('work');
    await kv.broker.bind('work', 'jobs');
    const received: unknown[] = [];
    const consumer = await kv.broker.consume('work', async (delivery) => {
      received.push(delivery.body);
    });
    const other = new DatabaseSync(path);
    other.exec('BEGIN EXCLUSIVE');
    await sleep(1300);
    other.exec('ROLLBACK');
    other.close();
    await sleep(200);
    expect(await kv.publish('news', 'hello')).toBe(1);
    await kv.broker.publish('jobs', '', { n: 1 });
    await vi.waitFor(() => expect(received).toEqual([{ n: 1 }]));
    expect((await kv.info()).keys).toBe(0);
    await consumer.cancel();
    await sub.unsubscribe();
    await kv.close();
  });

  it('an up-to-date file opens while another process holds its write lock; reads work, writes wait', async () => {
    const path = join(tempDir('kv-open-locked'), 'kv.db');
    const first = SqliteKv.open(path);
    await first.set('k', 'v');
    await first.close();
    const other = new DatabaseSync(path);
    other.exec('BEGIN EXCLUSIVE');
    const kv = SqliteKv.open(path, { busyTimeoutMs: 100, sweepIntervalMs: 0 });
    expect(await kv.get('k')).toBe('v');
    expect(await errorCode(kv.set('k', 'w'))).toBe('KV_UNAVAILABLE');
    other.exec('ROLLBACK');
    other.close();
    await kv.close();
  });

  it('a file that needs migrating while another process holds its write lock is refused with what to do', async () => {
    const path = join(tempDir('kv-migrate-locked'), 'kv.db');
    const old = new DatabaseSync(path);
    old.exec('PRAGMA journal_mode = WAL');
    old.exec(MIGRATIONS[0] as string);
    old.exec('PRAGMA user_version = 1');
    old.exec('BEGIN EXCLUSIVE');
    const error = await openError(() => SqliteKv.open(path, { busyTimeoutMs: 100 }));
    old.exec('ROLLBACK');
    old.close();
    expect(error.code).toBe('KV_OPEN_FAILED');
    expect(error.message).toMatch(/locked by another process/);
    expect(error.hint).toMatch(/fuser|lsof/);
  });
});

describe('SqliteKv group commit of conversation appends', () => {
  /** Operations on three conversations, one of which shares its meta key with a string, mixed with reads and other writes of the same keys. */
  function script(kv: SqliteKv, failing: boolean): Array<() => Promise<unknown>> {
    const item = (text: string, t: number) => JSON.stringify({ text, t });
    const ops: Array<() => Promise<unknown>> = [];
    for (let round = 0; round < 6; round++) {
      for (const c of ['a', 'b', 'c']) {
        const list = `mem:${c}`;
        const meta = `mem:${c}:meta`;
        ops.push(() => kv.appendAndTrim(list, meta, [item(`${c}${round}`, round + 1)], { maxLen: 4, tokenDelta: round + 1, ttlMs: 60_000 + round, tokensField: 't' }));
        if (round % 2 === 0) ops.push(() => kv.appendAndTrim(list, meta, [`${c}${round}x`, `${c}${round}y`], { maxLen: 5, tokenDelta: 2, fields: { round: round } }));
        if (round === 2 && c === 'b') ops.push(() => kv.hgetall(meta), () => kv.lrange(list, 0, -1), () => kv.hset(meta, { note: 'n' }));
        if (round === 3 && c === 'c') ops.push(() => kv.del(list), () => kv.llen(list));
        if (round === 4) ops.push(() => kv.appendAndTrim(list, meta, [], { maxLen: 2, tokenDelta: 0, tokensField: 't' }));
        if (round === 5) ops.push(() => kv.appendAndTrim(list, meta, ['late'], { maxLen: 9, tokenDelta: 1, ttlMs: 90_000, ttlRefreshBelowMs: 1 }));
      }
      // A conversation whose meta key is a string: WRONGTYPE for it alone (the batch then runs each operation in a savepoint).
      if (failing) ops.push(() => kv.appendAndTrim('mem:d', 'str', ['x'], { maxLen: 3, tokenDelta: 1 }));
      // The list of one conversation named as the meta of another: WRONGTYPE, the list untouched.
      if (failing && round === 1) ops.push(() => kv.appendAndTrim('mem:e', 'mem:a', ['y'], { maxLen: 3, tokenDelta: 1 }));
    }
    return ops;
  }

  async function state(kv: SqliteKv): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const key of ['mem:a', 'mem:b', 'mem:c', 'mem:e', 'str']) {
      const type = await kv.type(key);
      out[key] = type === 'list' ? await kv.lrange(key, 0, -1) : type === 'string' ? await kv.get(key) : type;
      out[`${key}:ttl`] = (await kv.pttl(key)) > 0;
    }
    for (const key of ['mem:a:meta', 'mem:b:meta', 'mem:c:meta']) out[key] = await kv.hgetall(key);
    return out;
  }

  const settle = (p: Promise<unknown>) => p.then((value) => ({ value }), (error: unknown) => ({ error: (error as CompozyError).code }));

  it.each([
    ['none fails', false],
    ['some fail with WRONGTYPE', true],
  ])('issued in one turn (%s), every answer and the final keys are those of the same operations awaited one by one', async (_name, failing) => {
    const sequential = SqliteKv.open(join(tempDir('kv'), 'kv.db'));
    const batched = SqliteKv.open(join(tempDir('kv'), 'kv.db'));
    for (const kv of [sequential, batched]) await kv.set('str', 'v');
    const expected: unknown[] = [];
    for (const op of script(sequential, failing)) expected.push(await settle(op()));
    const answers = await Promise.all(script(batched, failing).map((op) => settle(op())));
    expect(answers).toEqual(expected);
    expect(expected.some((a) => (a as { error?: string }).error === 'KV_WRONG_TYPE')).toBe(failing);
    expect(await state(batched)).toEqual(await state(sequential));
    // The metas' expiries: those of the last append that refreshed them, to the millisecond's slack.
    for (const key of ['mem:a:meta', 'mem:b:meta']) expect(Math.abs((await batched.pttl(key)) - (await sequential.pttl(key)))).toBeLessThan(2000);
    await sequential.close();
    await batched.close();
  });
});

describe('SqliteKv publishes in a group commit', () => {
  it('publishes issued together commit in one transaction after the writes issued before them; each answers its receivers, and subscribers hear them in order', async () => {
    const path = join(tempDir('kv-publish-batch'), 'kv.db');
    const kv = SqliteKv.open(path, { sweepIntervalMs: 0 });
    const elsewhere = SqliteKv.open(path, { sweepIntervalMs: 0 });
    const local = await kv.subscribe('news');
    const remote = await elsewhere.psubscribe('news*');
    const raw = new DatabaseSync(path);
    raw.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
    const write = kv.set('headline', 'ready');
    const published = Promise.all(Array.from({ length: 100 }, (_, n) => kv.publish('news', { n })));
    expect(await write).toBe(true);
    expect(await published).toEqual(Array.from({ length: 100 }, () => 2));
    // One commit writes a few pages (the messages' leaves, the write, the id sequence); a commit per publish would write at least 100.
    expect((raw.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number }).log).toBeLessThan(12);
    raw.close();
    const heard = async (sub: Awaited<ReturnType<SqliteKv['subscribe']>>) => {
      const got: unknown[] = [];
      for await (const message of sub) {
        got.push(message.data);
        if (got.length === 100) break;
      }
      return got;
    };
    const remoteHeard = heard(remote);
    const expected = Array.from({ length: 100 }, (_, n) => ({ n }));
    expect(await heard(local)).toEqual(expected);
    expect(await remoteHeard).toEqual(expected);
    // The other connection, woken by the first message, can read what was written before it.
    expect(await elsewhere.get('headline')).toBe('ready');
    await elsewhere.close();
    await kv.close();
  });
});

describe('SqliteKv reads issued together', () => {
  it('each gets its own answer or error; a read issued before a write does not see it, one issued after does, also across publish', async () => {
    const kv = SqliteKv.open(join(tempDir('kv'), 'kv.db'));
    await kv.set('s', 'one');
    await kv.hset('h', { f: 'v' });
    const settle = (p: Promise<unknown>) => p.then((value) => ({ value }), (error: unknown) => ({ error: (error as CompozyError).code }));
    const together = await Promise.all([settle(kv.get('s')), settle(kv.hget('s', 'f')), settle(kv.hget('h', 'f')), settle(kv.lrange('h', 0, -1)), settle(kv.get('missing'))]);
    expect(together).toEqual([{ value: 'one' }, { error: 'KV_WRONG_TYPE' }, { value: 'v' }, { error: 'KV_WRONG_TYPE' }, { value: null }]);
    const before = kv.get('s');
    const write = kv.set('s', 'two');
    const after = kv.get('s');
    expect(await Promise.all([before, write, after])).toEqual(['one', true, 'two']);
    // publish commits the waiting writes at once: a read issued before them still answers first.
    const early = kv.get('s');
    const set = kv.set('s', 'three');
    await kv.publish('c', { n: 1 });
    expect(await early).toBe('two');
    await set;
    expect(await kv.get('s')).toBe('three');
    await kv.close();
  });
});
