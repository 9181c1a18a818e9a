import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { SqliteGuard, storageError, type SqliteFileKind } from '../../src/platform/sqlite.js';
import { errorCode } from '../helpers/errors.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/fake-bin.js';
import { defineApiKeyConformance } from './api-keys.js';
import { defineStoreConformance } from './conformance.js';

defineStoreConformance('sqlite', async () => SqliteStore.open(join(tempDir('store'), 'compozy.db')));
defineApiKeyConformance('sqlite', async () => SqliteStore.open(join(tempDir('store-keys'), 'compozy.db')));

describe('SqliteStore files', () => {
  it('a corrupt file is reported by name and left untouched', () => {
    const path = join(tempDir('store-corrupt'), 'compozy.db');
    const garbage = 'not a database\n'.repeat(500);
    writeFileSync(path, garbage);
    let error: unknown;
    try {
      SqliteStore.open(path);
    } catch (e) {
      error = e;
    }
    expect((error as CompozyError).code).toBe('STORE_OPEN_FAILED');
    expect((error as CompozyError).message).toContain(path);
    expect(readFileSync(path, 'utf8')).toBe(garbage);
  });
});

const STORE_FILE: SqliteFileKind = { noun: 'execution store', openCode: 'STORE_OPEN_FAILED', unavailableCode: 'STORE_UNAVAILABLE' };

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function openError(open: () => unknown): CompozyError {
  try {
    open();
  } catch (error) {
    if (error instanceof CompozyError) return error;
    throw error;
  }
  throw new Error('it opened');
}

describe('SqliteStore storage integrity', () => {
  it('a compozy.db that existed and is now zero bytes is refused by name and left as it is', () => {
    const path = join(tempDir('store-empty'), 'compozy.db');
    writeFileSync(path, '');
    const error = openError(() => SqliteStore.open(path));
    expect(error.code).toBe('STORE_OPEN_FAILED');
    expect(error.message).toContain(path);
    expect(statSync(path).size).toBe(0);
  });

  it('a file with a valid header and garbage pages fails its integrity check, byte-identical after', async () => {
    const path = join(tempDir('store-garbage'), 'compozy.db');
    const store = SqliteStore.open(path);
    for (let i = 0; i < 200; i++) await store.createWorkflowExecution({ workflowExecId: `exec-${i}`, workflowId: 'wf', input: { text: 'x'.repeat(300) } });
    await store.close();
    const bytes = readFileSync(path);
    writeFileSync(path, Buffer.concat([bytes.subarray(0, 4096), randomBytes(bytes.length - 4096)]));
    const before = sha(path);
    const error = openError(() => SqliteStore.open(path));
    expect(error.code).toBe('STORE_OPEN_FAILED');
    expect(error.message).toMatch(/integrity check/);
    expect(sha(path)).toBe(before);
  });

  it('another process holding the write lock: writes answer STORE_UNAVAILABLE without blocking the loop, reads keep working, health degrades and recovers', async () => {
    const path = join(tempDir('store-locked'), 'compozy.db');
    const store = SqliteStore.open(path, { busyTimeoutMs: 300 });
    await store.createWorkflowExecution({ workflowExecId: 'exec-1', workflowId: 'wf', input: {} });
    const other = new DatabaseSync(path);
    other.exec('BEGIN EXCLUSIVE');
    let turns = 0;
    const ticker = setInterval(() => turns++, 5);
    const code = await errorCode(store.updateWorkflowExecution('exec-1', { status: 'RUNNING' }));
    clearInterval(ticker);
    expect(code).toBe('STORE_UNAVAILABLE');
    expect(turns).toBeGreaterThan(10);
    expect((await store.getWorkflowExecution('exec-1'))?.status).toBe('PENDING');
    expect((await store.info()).degraded?.code).toBe('STORE_UNAVAILABLE');
    other.exec('ROLLBACK');
    other.close();
    await sleep(150);
    expect((await store.info()).degraded).toBeUndefined();
    expect((await store.updateWorkflowExecution('exec-1', { status: 'RUNNING' })).status).toBe('RUNNING');
    await store.close();
  });
});

describe('SqliteGuard', () => {
  it('a full disk (SQLITE_FULL, simulated with max_page_count) is DISK_FULL naming the file, remembered until a write succeeds again', async () => {
    const path = join(tempDir('guard-full'), 'compozy.db');
    const db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (v TEXT)');
    const guard = new SqliteGuard(db, path, STORE_FILE, 1000);
    const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    db.exec(`PRAGMA max_page_count = ${pages}`);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    let error: unknown;
    try {
      await guard.write(() => insert.run('x'.repeat(20_000)));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CompozyError);
    expect((error as CompozyError).code).toBe('DISK_FULL');
    expect((error as CompozyError).message).toContain(path);
    expect(guard.fault()?.code).toBe('DISK_FULL');
    db.exec(`PRAGMA max_page_count = ${pages + 100}`);
    await guard.write(() => insert.run('x'.repeat(20_000)));
    expect(guard.fault()).toBeUndefined();
    db.close();
  });

  it('I/O and corruption errors come back typed with the cause; constraint errors are left as they are', () => {
    const corrupt = Object.assign(new Error('database disk image is malformed'), { code: 'ERR_SQLITE_ERROR', errcode: 11, errstr: 'database disk image is malformed' });
    const typed = storageError(STORE_FILE, '/x/compozy.db', corrupt) as CompozyError;
    expect(typed.code).toBe('STORE_UNAVAILABLE');
    expect(typed.message).toContain('/x/compozy.db');
    expect(typed.message).toContain('malformed');
    const constraint = Object.assign(new Error('UNIQUE constraint failed'), { code: 'ERR_SQLITE_ERROR', errcode: 2067, errstr: 'constraint failed' });
    expect(storageError(STORE_FILE, '/x/compozy.db', constraint)).toBe(constraint);
  });
});
