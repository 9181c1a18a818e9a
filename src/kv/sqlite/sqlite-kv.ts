import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { CompozyError, errorMessage } from '../../errors.js';

export interface KvInfo {
  driver: 'sqlite';
  path: string;
  keys: number;
  sizeBytes: number;
  schemaVersion: number;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE kv (
     key TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     value BLOB,
     expires_at INTEGER
   ) STRICT;
   CREATE INDEX kv_expires_at ON kv(expires_at) WHERE expires_at IS NOT NULL;`,
];

/**
 * The embedded key-value store file: WAL journal, NORMAL sync, a busy timeout so several processes
 * on one host can share it, and a versioned schema migrated on open.
 */
export class SqliteKv {
  readonly path: string;
  private readonly db: DatabaseSync;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.db = db;
  }

  static open(path: string, options: { busyTimeoutMs?: number } = {}): SqliteKv {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? 5000 });
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
      migrate(db);
      return new SqliteKv(path, db);
    } catch (error) {
      db?.close();
      throw new CompozyError('KV_OPEN_FAILED', `Cannot open the KV database ${path}: ${errorMessage(error)}`, {
        hint: 'Check that the file is a compozy KV database, that its folder is writable, and that no other program holds a lock on it.',
        cause: error,
      });
    }
  }

  ping(): void {
    this.db.prepare('SELECT 1').get();
  }

  info(): KvInfo {
    const now = Date.now();
    const row = this.db.prepare('SELECT count(*) AS n FROM kv WHERE expires_at IS NULL OR expires_at > ?').get(now) as { n: number };
    const version = this.db.prepare('PRAGMA user_version').get() as { user_version: number };
    let sizeBytes = 0;
    if (this.path !== ':memory:') {
      for (const suffix of ['', '-wal']) {
        try {
          sizeBytes += statSync(this.path + suffix).size;
        } catch {
          continue;
        }
      }
    }
    return { driver: 'sqlite', path: this.path, keys: Number(row.n), sizeBytes, schemaVersion: version.user_version };
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function migrate(db: DatabaseSync): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const { user_version: current } = db.prepare('PRAGMA user_version').get() as { user_version: number };
    if (current > MIGRATIONS.length) {
      throw new Error(`schema version ${current} is newer than this compozy understands (${MIGRATIONS.length}); upgrade compozy`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version] as string);
    }
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`);
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}
