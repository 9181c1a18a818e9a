import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { tempDir } from '../helpers/fake-bin.js';

const WORKER = join(import.meta.dirname, 'workers', 'kv-worker.mjs');
const children: ChildProcessWithoutNullStreams[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Worker {
  child: ChildProcessWithoutNullStreams;
  lines: unknown[];
  exited: Promise<number | null>;
  stderr: () => string;
  waitForLine: (predicate: (line: unknown) => boolean, timeoutMs?: number) => Promise<unknown>;
}

function worker(...args: string[]): Worker {
  const child = spawn(process.execPath, [WORKER, ...args]);
  children.push(child);
  const lines: unknown[] = [];
  let stderr = '';
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (buffer + chunk.toString()).split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const waitForLine = async (predicate: (line: unknown) => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = lines.find(predicate);
      if (found !== undefined) return found;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`worker ${args.join(' ')} printed no matching line; stderr: ${stderr}`);
  };
  return { child, lines, exited, stderr: () => stderr, waitForLine };
}

function dbPath(): string {
  return join(tempDir('kv-mp'), 'kv.db');
}

type Op = [string, ...Array<string | number>];
type Result = { value: unknown } | { error: string };
type Value = { type: 'string'; v: string } | { type: 'list'; items: string[] } | { type: 'hash'; fields: Map<string, number> };

/** What one client's operations answer when applied one at a time, in order (Redis semantics). */
function sequentialModel(ops: Op[]): { results: Result[]; state: Map<string, Value> } {
  const state = new Map<string, Value>();
  const wrong = { error: 'KV_WRONG_TYPE' };
  const results = ops.map(([kind, key = '', a, b]): Result => {
    const k = String(key);
    const current = state.get(k);
    switch (kind) {
      case 'set':
        state.set(k, { type: 'string', v: String(a) });
        return { value: true };
      case 'get':
        if (!current) return { value: null };
        return current.type === 'string' ? { value: current.v } : wrong;
      case 'incr': {
        if (current && current.type !== 'string') return wrong;
        if (current && !/^(0|-?[1-9][0-9]*)$/.test(current.v)) return { error: 'KV_NOT_INTEGER' };
        const next = (current ? Number(current.v) : 0) + Number(a);
        state.set(k, { type: 'string', v: String(next) });
        return { value: next };
      }
      case 'rpush':
        if (current && current.type !== 'list') return wrong;
        if (!current) state.set(k, { type: 'list', items: [String(a)] });
        else current.items.push(String(a));
        return { value: (state.get(k) as { items: string[] }).items.length };
      case 'lrange':
        if (!current) return { value: [] };
        return current.type === 'list' ? { value: [...current.items] } : wrong;
      case 'hincr': {
        if (current && current.type !== 'hash') return wrong;
        const hash = current ?? { type: 'hash' as const, fields: new Map<string, number>() };
        state.set(k, hash);
        const next = (hash.fields.get(String(a)) ?? 0) + Number(b);
        hash.fields.set(String(a), next);
        return { value: next };
      }
      case 'hget':
        if (!current) return { value: null };
        return current.type === 'hash' ? { value: current.fields.has(String(a)) ? String(current.fields.get(String(a))) : null } : wrong;
      case 'del':
        return { value: state.delete(k) ? 1 : 0 };
      default:
        throw new Error(`no model for ${kind}`);
    }
  });
  return { results, state };
}

describe('SQLite KV across OS processes', () => {
  it('2 × 10,000 incrBy from two processes give the exact total', async () => {
    const path = dbPath();
    SqliteKv.open(path).close();
    const workers = [worker('incr', path, '10000'), worker('incr', path, '10000')];
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.stderr()).join('\n')).toEqual([0, 0]);
    const kv = SqliteKv.open(path);
    expect(await kv.get('counter')).toBe('20000');
    await kv.close();
  }, 60_000);

  it('lock contention between three processes: never two holders, fencing tokens strictly increase', async () => {
    const path = dbPath();
    SqliteKv.open(path).close();
    const workers = [1, 2, 3].map(() => worker('lock', path, '40'));
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.stderr()).join('\n')).toEqual([0, 0, 0]);
    const kv = SqliteKv.open(path);
    expect(await kv.lrange('violations', 0, -1)).toEqual([]);
    const fences = (await kv.lrange('fences', 0, -1)).map(BigInt);
    expect(fences).toHaveLength(120);
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1] as bigint);
    await kv.close();
  }, 60_000);

  it('a message published by process A reaches a pattern subscriber in process B', async () => {
    const path = dbPath();
    SqliteKv.open(path).close();
    const subscriber = worker('psubscribe', path, 'jobs.*');
    await subscriber.waitForLine((line) => (line as { ready?: boolean }).ready === true);
    const publisher = worker('publish', path, 'jobs.42', JSON.stringify({ id: 42, ok: true }));
    expect(await publisher.waitForLine(() => true)).toEqual({ receivers: 1 });
    expect(await subscriber.waitForLine((line) => (line as { channel?: string }).channel !== undefined)).toEqual({
      channel: 'jobs.42',
      pattern: 'jobs.*',
      data: { id: 42, ok: true },
    });
    expect(await subscriber.exited).toBe(0);
  }, 30_000);

  it('a broker message whose consumer process is killed before ack is redelivered to another consumer', async () => {
    const path = dbPath();
    const kv = SqliteKv.open(path);
    await kv.broker.declareExchange('jobs', 'topic');
    await kv.broker.declareQueue('work', { visibilityTimeoutMs: 300 });
    await kv.broker.bind('work', 'jobs', 'job.#');
    expect(await kv.broker.publish('jobs', 'job.created', { id: 7 })).toBe(1);
    const first = worker('consume-and-hang', path, 'work');
    expect(await first.waitForLine(() => true)).toEqual({ body: { id: 7 }, attempt: 1 });
    first.child.kill('SIGKILL');
    await first.exited;
    const second = worker('consume-one', path, 'work');
    expect(await second.waitForLine(() => true)).toEqual({ body: { id: 7 }, attempt: 2 });
    expect(await second.exited).toBe(0);
    expect(await kv.broker.stats('work')).toEqual({ messages: 0, dropped: 0 });
    await kv.close();
  }, 30_000);

  it('100 concurrent writers in two processes, mixed operations in group commits: every answer and every key match a sequential model', async () => {
    const path = dbPath();
    SqliteKv.open(path).close();
    const perLane = 120;
    const workers = ['a', 'b'].map((tag) => worker('mixed', path, '50', String(perLane), tag));
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.stderr()).join('\n')).toEqual([0, 0]);
    const lanes = workers.flatMap((w) => w.lines) as Array<{ lane: number; ops: Op[]; results: Result[] }>;
    expect(lanes).toHaveLength(100);
    const kv = SqliteKv.open(path);
    const shared: number[] = [];
    let failures = 0;
    for (const { ops, results } of lanes) {
      expect(results).toHaveLength(perLane);
      const own = ops.map((op, i) => [op, results[i] as Result] as const).filter(([op]) => op[0] !== 'shared');
      for (const [op, result] of ops.map((o, i) => [o, results[i] as Result] as const)) if (op[0] === 'shared') shared.push((result as { value: number }).value);
      const model = sequentialModel(own.map(([op]) => op));
      expect(own.map(([, result]) => result)).toEqual(model.results);
      failures += model.results.filter((r) => 'error' in r).length;
      const keys = [...new Set(own.map(([op]) => String(op[1])))];
      for (const key of keys) {
        const expected = model.state.get(key);
        const type = await kv.type(key);
        expect(type, key).toBe(expected?.type ?? 'none');
        if (expected?.type === 'string') expect(await kv.get(key)).toBe(expected.v);
        if (expected?.type === 'list') expect(await kv.lrange(key, 0, -1)).toEqual(expected.items);
        if (expected?.type === 'hash') expect(await kv.hgetall(key)).toEqual(Object.fromEntries([...expected.fields].map(([f, v]) => [f, String(v)])));
      }
    }
    // The failing operations (WRONGTYPE, not an integer) were many and failed alone.
    expect(failures).toBeGreaterThan(100);
    // Every increment of the counter both processes share answered a distinct value, and none was lost.
    expect(shared.sort((x, y) => x - y)).toEqual(Array.from({ length: shared.length }, (_, i) => i + 1));
    expect(await kv.get('shared:counter')).toBe(String(shared.length));
    await kv.close();
  }, 120_000);

  it('SIGKILL during a stream of group commits loses at most the batch being committed, never part of one', async () => {
    const path = dbPath();
    SqliteKv.open(path).close();
    const acked = new Map<string, number>();
    for (const [n, tag] of ['w1', 'w2', 'w3'].entries()) {
      const writer = worker('rounds', path, tag);
      await writer.waitForLine((line) => ((line as { acked?: number }).acked ?? 0) >= 20);
      await new Promise((r) => setTimeout(r, 2 + n * 5));
      writer.child.kill('SIGKILL');
      await writer.exited;
      acked.set(tag, Math.max(...writer.lines.map((line) => (line as { acked: number }).acked)));
    }
    const kv = SqliteKv.open(path);
    for (const [tag, last] of acked) {
      const log = (await kv.lrange(`${tag}:log`, 0, -1)).map(Number);
      // Every acknowledged round survived; at most the one being committed at the kill is there unacknowledged.
      expect(log).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
      expect(log.length - last, tag).toBeGreaterThanOrEqual(0);
      expect(log.length - last, tag).toBeLessThanOrEqual(1);
      expect(await kv.hget('meta', tag)).toBe(String(log.length));
      // A round's 100 keys are there exactly when its log entry is: none half-written, none after the last.
      for (let r = 1; r <= log.length + 1; r++) {
        const present = (await kv.mget(Array.from({ length: 100 }, (_, i) => `${tag}:${r}:${i}`))).filter((v) => v !== null).length;
        expect(present, `${tag} round ${r}`).toBe(r <= log.length ? 100 : 0);
      }
    }
    await kv.close();
  }, 60_000);

  it('everything committed survives SIGKILL of the writer: keys, lists, hashes and TTLs', async () => {
    const path = dbPath();
    const writer = worker('write-then-hang', path);
    await writer.waitForLine((line) => (line as { written?: boolean }).written === true);
    writer.child.kill('SIGKILL');
    await writer.exited;
    const kv = SqliteKv.open(path);
    expect(await kv.get('s')).toBe('value');
    expect(await kv.pttl('s')).toBeGreaterThan(500_000);
    expect(await kv.get('n')).toBe('7');
    expect(await kv.lrange('l', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await kv.hgetall('h')).toEqual({ f: '1', g: 'two' });
    expect(await kv.lrange('mem', 0, -1)).toEqual(['m1', 'm2']);
    expect(await kv.hgetall('mem:meta')).toEqual({ message_count: '2', token_count: '3' });
    expect(await kv.pttl('mem:meta')).toBeGreaterThan(500_000);
    await kv.close();
  }, 30_000);
});
