import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
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
