import { checkNewApiKey, duplicateKey, type ActiveApiKey, type ApiKeyRecord, type ApiKeyScope, type ApiKeyStore, type NewApiKey } from '../api-keys.js';
import { checkId } from '../codec.js';

/** The migration PostgresStore applies for this table. */
export const API_KEYS_MIGRATION = `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     scope TEXT NOT NULL,
     digest TEXT,
     created_at TIMESTAMPTZ NOT NULL,
     expires_at TIMESTAMPTZ,
     last_used_at TIMESTAMPTZ,
     revoked_at TIMESTAMPTZ
   );`;

type Row = Record<string, unknown>;
type Query = (sql: string, params?: unknown[]) => Promise<Row[]>;

function time(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

function record(row: Row): ApiKeyRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    scope: row.scope as ApiKeyScope,
    createdAt: time(row.created_at) as string,
    expiresAt: time(row.expires_at),
    lastUsedAt: time(row.last_used_at),
    revokedAt: time(row.revoked_at),
  };
}

/** API keys in the store's PostgreSQL schema, through the store's pool (its errors are STORE_UNAVAILABLE). */
export class PostgresApiKeys implements ApiKeyStore {
  constructor(private readonly query: Query) {}

  async createApiKey(key: NewApiKey): Promise<ApiKeyRecord> {
    const { id, name, scope, digest, expiresAt } = checkNewApiKey(key);
    const rows = await this.query('INSERT INTO api_keys (id, name, scope, digest, created_at, expires_at) VALUES ($1, $2, $3, $4, now(), $5) ON CONFLICT (id) DO NOTHING RETURNING *', [id, name, scope, digest, expiresAt]);
    const row = rows[0];
    if (!row) throw duplicateKey(id);
    return record(row);
  }

  async findActiveApiKey(id: string): Promise<ActiveApiKey | null> {
    const [row] = await this.query('SELECT * FROM api_keys WHERE id = $1 AND revoked_at IS NULL AND digest IS NOT NULL', [checkId(id, 'id')]);
    return row ? { ...record(row), digest: row.digest as string } : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.query('SELECT * FROM api_keys ORDER BY created_at, id')).map(record);
  }

  async revokeApiKey(id: string): Promise<ApiKeyRecord | null> {
    const [row] = await this.query('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), digest = NULL WHERE id = $1 RETURNING *', [checkId(id, 'id')]);
    return row ? record(row) : null;
  }

  async touchApiKey(id: string, at: string): Promise<void> {
    await this.query('UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)', [checkId(id, 'id'), at]);
  }

  async countUsableApiKeys(now: string): Promise<number> {
    const [row] = await this.query('SELECT count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL AND digest IS NOT NULL AND (expires_at IS NULL OR expires_at > $1)', [now]);
    return Number(row?.n ?? 0);
  }
}
