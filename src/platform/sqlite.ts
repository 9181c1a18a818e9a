import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * Opens a SQLite file the way every compozy database wants it — WAL, synchronous=NORMAL, a busy
 * timeout so processes on one host can share it — and applies the migrations it lacks
 * (PRAGMA user_version), refusing a file from a newer compozy. Throws the raw error; callers name
 * the file in their own error type.
 */
export function openMigrated(path: string, migrations: readonly string[], busyTimeoutMs = 5000): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  try {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = ON;');
    db.exec('BEGIN IMMEDIATE');
    try {
      const { user_version: current } = db.prepare('PRAGMA user_version').get() as { user_version: number };
      if (current > migrations.length) throw new Error(`its schema version ${current} is newer than this compozy understands (${migrations.length}); upgrade compozy`);
      for (let version = current; version < migrations.length; version++) db.exec(migrations[version] as string);
      db.exec(`PRAGMA user_version = ${migrations.length}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
