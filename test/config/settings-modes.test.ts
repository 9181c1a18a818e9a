import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, runStateDir } from '../../src/config/settings.js';
import { kvDriverOf } from '../../src/server/open-kv.js';
import { storeDriverOf } from '../../src/server/open-store.js';

const doc = (document: Record<string, unknown>) => ({ document: { name: 'p', ...document }, dir: '/projects/p' });

describe('deployment modes (reference §9.3)', () => {
  it('memory, persistent and distributed are the modes, from mode:, COMPOZY_MODE or --mode; standalone is persistent', () => {
    expect(loadSettings(doc({ mode: 'memory' }), {}, {}).mode).toEqual({ value: 'memory', source: 'file', origin: 'mode' });
    expect(loadSettings(doc({}), {}, { COMPOZY_MODE: 'distributed' }).mode).toEqual({ value: 'distributed', source: 'env', origin: 'COMPOZY_MODE' });
    expect(loadSettings(doc({ mode: 'distributed' }), { mode: 'persistent' }, {}).mode).toEqual({ value: 'persistent', source: 'flag', origin: '--mode' });
    expect(loadSettings(doc({ mode: 'standalone' }), {}, {}).mode.value).toBe('persistent');
    expect(loadSettings(doc({}), {}, {}).mode).toEqual({ value: 'persistent', source: 'default', origin: 'default' });
    expect(() => loadSettings(doc({ mode: 'cluster' }), {}, {})).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { key: 'mode' }, message: expect.stringContaining('mode in compozy.yaml must be "memory", "persistent" or "distributed"') }));
  });

  it('each component inherits the mode unless overridden: temporal.mode (TEMPORAL_MODE, --temporal-mode) and redis.mode (REDIS_MODE, --redis-mode)', () => {
    expect(loadSettings(doc({ mode: 'memory' }), {}, {}).temporalMode).toEqual({ value: 'memory', source: 'default', origin: 'default' });
    expect(loadSettings(doc({ mode: 'distributed' }), {}, {}).temporalMode.value).toBe('remote');
    expect(loadSettings(doc({ temporal: { mode: 'memory' } }), {}, {}).temporalMode).toEqual({ value: 'memory', source: 'file', origin: 'temporal.mode' });
    expect(loadSettings(doc({}), { temporalMode: 'remote' }, { TEMPORAL_MODE: 'memory' }).temporalMode.value).toBe('remote');
    expect(() => loadSettings(doc({ temporal: { mode: 'distributed' } }), {}, {})).toThrow(/temporal.mode in compozy.yaml must be "memory", "persistent" or "remote"/);
    const redis = loadSettings(doc({ redis: { mode: 'distributed', url: 'redis://r:6379' } }), {}, {});
    expect(redis.kvDriver).toEqual({ value: 'redis', source: 'file', origin: 'redis.mode' });
    expect(kvDriverOf(redis)).toBe('redis');
    expect(kvDriverOf(loadSettings(doc({ mode: 'distributed' }), { redisMode: 'memory' }, {}))).toBe('sqlite');
    // An explicit kv.driver wins over redis.mode.
    expect(loadSettings(doc({ kv: { driver: 'sqlite' }, redis: { mode: 'distributed' } }), {}, {}).kvDriver.value).toBe('sqlite');
    expect(storeDriverOf(loadSettings(doc({ mode: 'memory' }), {}, {}))).toBe('sqlite');
  });

  it('database.path is the SQLite store file (relative to the project); ":memory:" only in memory mode', () => {
    expect(loadSettings(doc({ database: { path: './.compozy/state.db' } }), {}, {}).databasePath).toEqual({ value: '/projects/p/.compozy/state.db', source: 'file', origin: 'database.path' });
    expect(loadSettings(doc({ mode: 'memory', database: { driver: 'sqlite', path: ':memory:' } }), {}, {}).databasePath.value).toBeUndefined();
    expect(() => loadSettings(doc({ database: { path: ':memory:' } }), {}, {})).toThrow(/database.path in compozy.yaml ":memory:" keeps the store only in mode: memory/);
  });

  it('redis.distributed.addr and redis.host/port/password/db make the Redis URL when redis.url is not set', () => {
    expect(loadSettings(doc({ redis: { distributed: { addr: 'cache:6380' } } }), {}, {}).redisUrl).toEqual({ value: 'redis://cache:6380', source: 'file', origin: 'redis.distributed.addr' });
    expect(loadSettings(doc({ redis: { host: 'r1', port: 6390, password: 'p w', db: 2 } }), {}, {}).redisUrl.value).toBe('redis://:p%20w@r1:6390/2');
    expect(loadSettings(doc({}), {}, { REDIS_HOST: 'envhost' }).redisUrl).toEqual({ value: 'redis://envhost:6379', source: 'env', origin: 'REDIS_HOST' });
    expect(loadSettings(doc({ redis: { url: 'redis://u:1', distributed: { addr: 'x:1' } } }), {}, {}).redisUrl.value).toBe('redis://u:1');
  });

  it('in memory mode the state folder is a temporary one, removed when the process exits; else .compozy/ (or the supervisor\'s)', () => {
    const memory = runStateDir({ dir: '/projects/p' }, { mode: { value: 'memory', source: 'file', origin: 'mode' } }, {});
    expect(memory).not.toContain('/projects/p');
    expect(existsSync(memory)).toBe(true);
    expect(runStateDir({ dir: '/projects/p' }, { mode: { value: 'persistent', source: 'default', origin: 'default' } }, {})).toBe(join('/projects/p', '.compozy'));
    expect(runStateDir({ dir: '/projects/p' }, { mode: { value: 'memory', source: 'file', origin: 'mode' } }, { COMPOZY_STATE_DIR: '/tmp/given' })).toBe('/tmp/given');
  });
});
