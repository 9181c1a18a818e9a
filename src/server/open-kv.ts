import { join } from 'node:path';
import type { AppSettings } from '../config/settings.js';
import { CompozyError } from '../errors.js';
import type { Kv } from '../kv/kv.js';
import { SqliteKv } from '../kv/sqlite/sqlite-kv.js';

/** The KV driver these settings choose: the configured one, else by mode. */
export function kvDriverOf(settings: AppSettings): 'sqlite' | 'redis' {
  return settings.kvDriver.value ?? (settings.mode.value === 'distributed' ? 'redis' : 'sqlite');
}

/**
 * The one place that picks the KV adapter: the configured driver, else SQLite in standalone mode and
 * Redis in distributed mode. A configured Redis that is down is an error, never a fallback to SQLite.
 */
export async function openKv(settings: AppSettings, stateDir: string): Promise<Kv> {
  const driver = kvDriverOf(settings);
  if (driver === 'sqlite') return SqliteKv.open(join(stateDir, 'kv.db'));
  const url = settings.redisUrl.value;
  if (!url) {
    throw new CompozyError('CONFIG_INVALID', `The KV driver is redis (${settings.kvDriver.value ? `from ${settings.kvDriver.origin}` : 'distributed mode'}) but no Redis URL is set.`, {
      hint: 'Set REDIS_URL (or redis.url in compozy.yaml), or use kv.driver: sqlite.',
    });
  }
  // Loaded only when chosen: standalone start-up should not pay for the Redis client.
  const { RedisKv } = await import('../kv/redis/redis-kv.js');
  return RedisKv.connect({ url });
}
