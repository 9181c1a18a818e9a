import { join } from 'node:path';
import type { AppSettings } from '../config/settings.js';
import { CompozyError } from '../errors.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { ExecutionStore } from '../store/store.js';

/** The store driver these settings choose: the configured one, else by mode. */
export function storeDriverOf(settings: AppSettings): 'sqlite' | 'postgres' {
  return settings.storeDriver.value ?? (settings.mode.value === 'distributed' ? 'postgres' : 'sqlite');
}

/**
 * The one place that picks the execution store: the configured driver, else SQLite in standalone
 * mode and PostgreSQL in distributed mode. A configured PostgreSQL that is down is an error.
 */
export async function openStore(settings: AppSettings, stateDir: string): Promise<ExecutionStore> {
  const driver = storeDriverOf(settings);
  if (driver === 'sqlite') return SqliteStore.open(settings.databasePath.value ?? join(stateDir, 'compozy.db'));
  const url = settings.databaseUrl.value;
  if (!url) {
    throw new CompozyError('CONFIG_INVALID', `The store driver is postgres (${settings.storeDriver.value ? `from ${settings.storeDriver.origin}` : 'distributed mode'}) but no database URL is set.`, {
      hint: 'Set DATABASE_URL (or database.url in compozy.yaml), or use database.driver: sqlite.',
    });
  }
  // Loaded only when chosen: standalone start-up should not pay for the PostgreSQL client.
  const { PostgresStore } = await import('../store/postgres/postgres-store.js');
  return PostgresStore.connect({ url });
}
