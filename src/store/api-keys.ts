import { invalid } from './codec.js';

/**
 * API keys kept in the execution store (SQLite or PostgreSQL), so `compozy auth` can create them before
 * a server runs and every server on one store accepts them. The store keeps only a key's digest; the
 * key itself is printed once by `compozy auth create-key` and never written anywhere.
 */

/** What a key may do, each including the one before: read < execute < admin. */
export const API_KEY_SCOPES = ['read', 'execute', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKeyRecord {
  id: string;
  name: string;
  scope: ApiKeyScope;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface NewApiKey {
  id: string;
  name: string;
  scope: ApiKeyScope;
  /** Hex SHA-256 of the whole key (src/server/auth/keys.ts). */
  digest: string;
  expiresAt: string | null;
}

/** A key that can still authenticate (not revoked), with its digest to compare against. */
export interface ActiveApiKey extends ApiKeyRecord {
  digest: string;
}

export interface ApiKeyStore {
  /** Throws STORE_INVALID_ARGUMENT for a bad field or an id that exists already. */
  createApiKey(key: NewApiKey): Promise<ApiKeyRecord>;
  /** The key with this id unless it is unknown or revoked (both answer null: a revoked key's digest is gone). */
  findActiveApiKey(id: string): Promise<ActiveApiKey | null>;
  /** Every key, revoked ones included, oldest first. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Marks it revoked and forgets its digest; null for an unknown id; revoking twice keeps the first time. */
  revokeApiKey(id: string): Promise<ApiKeyRecord | null>;
  /** Records a successful use. */
  touchApiKey(id: string, at: string): Promise<void>;
  /** Keys neither revoked nor expired at `now`. */
  countUsableApiKeys(now: string): Promise<number>;
  /**
   * Changes whenever any process may have changed a key: a verifier may reuse what it found while this
   * stays the same. Absent where that cannot be known cheaply (PostgreSQL): then every check reads.
   */
  changeMark?(): string;
}

export function checkNewApiKey(key: NewApiKey): NewApiKey {
  if (typeof key.id !== 'string' || !/^[0-9A-Za-z]{1,64}$/.test(key.id)) throw invalid('An API key id must be 1–64 letters and digits.');
  if (typeof key.name !== 'string' || key.name.length > 200) throw invalid('An API key name must be a string of at most 200 characters.');
  if (!(API_KEY_SCOPES as readonly string[]).includes(key.scope)) throw invalid(`An API key scope must be one of ${API_KEY_SCOPES.join(', ')}, got ${JSON.stringify(key.scope)}.`);
  if (typeof key.digest !== 'string' || !/^[0-9a-f]{64}$/.test(key.digest)) throw invalid('An API key digest must be 64 lowercase hex digits (SHA-256).');
  if (key.expiresAt !== null && Number.isNaN(Date.parse(key.expiresAt))) throw invalid(`An API key expiry must be an ISO time or null, got ${JSON.stringify(key.expiresAt)}.`);
  return key;
}

export function duplicateKey(id: string): Error {
  return invalid(`An API key with id ${id} exists already.`);
}
