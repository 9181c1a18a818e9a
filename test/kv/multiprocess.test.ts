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
