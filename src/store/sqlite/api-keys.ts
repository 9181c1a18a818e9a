import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { CompozyError } from '../../errors.js';
import type { SqliteGuard } from '../../platform/sqlite.js';
import { checkNewApiKey, duplicateKey, type ActiveApiKey, type ApiKeyRecord, type ApiKeyScope, type ApiKeyStore, type NewApiKey } from '../api-keys.js';
import { checkId } from '../codec.js';

/** The migration SqliteStore applies for this table. */
export const API_KEYS_MIGRATION = `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     scope TEXT NOT NULL,
     digest TEXT,
     created_at TEXT NOT NULL,
     expires_at TEXT,
     last_used_at TEXT,
     revoked_at TEXT
   ) STRICT;`;

interface KeyRow {
  id: string;
  name: string;
  scope: string;
  digest: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

function record(row: KeyRow): ApiKeyRecord {
  return { id: row.id, name: row.name, scope: row.scope as ApiKeyScope, createdAt: row.created_at, expiresAt: row.expires_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at };
}

/** API keys in the store's SQLite file, through the store's guard (lock waits, storage faults). */
export class SqliteApiKeys implements ApiKeyStore {
  private readonly s: Record<string, StatementSync>;
  /** Key writes on this connection, which PRAGMA data_version (other connections' commits) does not count. */
  private ownWrites = 0;

  constructor(
    private readonly db: DatabaseSync,
    private readonly guard: SqliteGuard,
    private readonly path: string,
  ) {
    this.s = {
      insert: db.prepare('INSERT INTO api_keys (id, name, scope, digest, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING'),
      get: db.prepare('SELECT * FROM api_keys WHERE id = ?'),
      active: db.prepare('SELECT * FROM api_keys WHERE id = ? AND revoked_at IS NULL AND digest IS NOT NULL'),
      list: db.prepare('SELECT * FROM api_keys ORDER BY created_at, id'),
      revoke: db.prepare('UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?), digest = NULL WHERE id = ?'),
      touch: db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'),
      dataVersion: db.prepare('PRAGMA data_version'),
      usable: db.prepare('SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL AND digest IS NOT NULL AND (expires_at IS NULL OR expires_at > ?)'),
    };
  }

  private stmt(name: string): StatementSync {
    if (!this.db.isOpen) throw new CompozyError('STORE_UNAVAILABLE', `The execution store ${this.path} is closed.`, { hint: 'Open a new store.' });
    return this.s[name] as StatementSync;
  }

  async createApiKey(key: NewApiKey): Promise<ApiKeyRecord> {
    const { id, name, scope, digest, expiresAt } = checkNewApiKey(key);
    return this.guard.write(() =>
      this.guard.transaction(() => {
        const inserted = this.stmt('insert').run(id, name, scope, digest, new Date().toISOString(), expiresAt === null ? null : new Date(expiresAt).toISOString());
        if (inserted.changes === 0) throw duplicateKey(id);
        return record(this.stmt('get').get(id) as unknown as KeyRow);
      }),
    );
  }

  async findActiveApiKey(id: string): Promise<ActiveApiKey | null> {
    checkId(id, 'id');
    const row = (await this.guard.read(() => this.stmt('active').get(id))) as KeyRow | undefined;
    return row ? { ...record(row), digest: row.digest as string } : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return ((await this.guard.read(() => this.stmt('list').all())) as unknown as KeyRow[]).map(record);
  }

  async revokeApiKey(id: string): Promise<ApiKeyRecord | null> {
    checkId(id, 'id');
    this.ownWrites++;
    return this.guard.write(() =>
      this.guard.transaction(() => {
        this.stmt('revoke').run(new Date().toISOString(), id);
        const row = this.stmt('get').get(id) as KeyRow | undefined;
        return row ? record(row) : null;
      }),
    );
  }

  async touchApiKey(id: string, at: string): Promise<void> {
    checkId(id, 'id');
    await this.guard.write(() => this.stmt('touch').run(at, id, at));
  }

  /** Any commit by another connection (a `compozy auth revoke`, another server) moves data_version. */
  changeMark(): string {
    const { data_version: version } = this.stmt('dataVersion').get() as { data_version: number };
    return `${version}:${this.ownWrites}`;
  }

  async countUsableApiKeys(now: string): Promise<number> {
    const row = (await this.guard.read(() => this.stmt('usable').get(now))) as { n: number };
    return row.n;
  }
}
